"""The bottom layer: file writing, images, pictures of predictions."""
