"""The interactive editor: paint a label map in the browser and see what a trained generator makes of it.

``scripts/editor.py`` starts it; ``server`` holds the web routes, ``engine`` the model and its one
worker, ``static/`` the page (served from here, nothing is fetched from the internet).
"""
