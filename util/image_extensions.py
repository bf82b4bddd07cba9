"""The picture files the project reads, by suffix: dataset folders and FID folders alike."""

# lower-case suffixes PIL reads; the reference's list (SPADE's data/image_folder.py) plus .webp
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".tif", ".tiff", ".webp")
