"""`python -m nndojo.api`: the server with settings from the environment."""

from nndojo.api.server import serve

if __name__ == "__main__":
    serve()
