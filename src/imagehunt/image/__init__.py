"""Static inspection of container images and of image names (no container is ever run)."""
