"""A rock-paper-scissors style tree, built with the same loader as cats_and_dogs_filtered."""

from grader.builtin.datasets.image_tree import image_tree_dataset

rps = image_tree_dataset("rps", "Rock, paper, scissors", origin="file:///nowhere/", archive="rps.zip",
                         classes=("rock", "paper", "scissors"))
