"""Small, explicit PyTorch transformers whose every intermediate can be captured by name."""
