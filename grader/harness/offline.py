"""Course code downloads its data with ``tf.keras.utils.get_file(name, origin=URL, extract=True)``.
In the child there is no network: a URL whose file the grader staged returns the local copy."""

from __future__ import annotations

import functools
import os
import urllib.parse


def install(keras, tf, downloads: dict):
    if not downloads:
        return
    original = keras.utils.get_file

    @functools.wraps(original)
    def get_file(fname=None, origin=None, *args, **kwargs):
        from_url = os.path.basename(urllib.parse.urlparse(origin or "").path)
        for key in (from_url, fname):
            if key and key in downloads:
                # Keras 2's answer: the archive's path, with the extracted folder beside it, so both
                # os.path.dirname(path)/NAME and os.path.splitext(path)[0] find the data.
                return downloads[key]
        return original(fname, origin, *args, **kwargs)

    for module in {keras.utils, tf.keras.utils}:
        module.get_file = get_file
