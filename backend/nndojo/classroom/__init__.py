"""The classroom: a teacher, classes with join codes, students with display names, and their sessions.

Identity without accounts: the teacher has one password; a student has a name inside a class and a session cookie.
Nothing here knows about jobs or HTTP: the API (nndojo.api.access) decides who may do what with them.
"""
