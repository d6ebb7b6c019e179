"""Uploaded datasets: stored with the server's data, owned and shared like jobs (nndojo.uploads.service)."""
