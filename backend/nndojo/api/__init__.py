"""The HTTP and websocket API of shared/API.md. Nothing here imports torch: training runs in Ray workers."""
