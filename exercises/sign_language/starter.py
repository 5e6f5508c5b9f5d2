import csv

import numpy as np
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

TRAINING_FILE = "./sign_mnist_train.csv"
VALIDATION_FILE = "./sign_mnist_test.csv"


def parse_data_from_input(filename):
    """The images (n, 28, 28) and labels (n,) of one CSV file: a header line, then a label and 784 pixels per row."""
    labels, images = [], []
    with open(filename) as file:
        reader = csv.reader(file, delimiter=",")
        # TODO: skip the header line, then for each row keep row[0] as the label and row[1:] as the pixels.
        pass
    labels = np.array(labels, dtype=np.float64)
    images = np.array(images, dtype=np.float64).reshape(len(labels), 28, 28)
    return images, labels


def train_val_generators(training_images, training_labels, validation_images, validation_labels):
    # TODO: add a channel axis to both image arrays (np.expand_dims(..., axis=3)).
    # TODO: augment the training pictures (rotation_range, width_shift_range, zoom_range, ...) as well as
    # rescaling them; the validation pictures are only rescaled.
    train_datagen = ImageDataGenerator(rescale=1.0 / 255)
    train_generator = train_datagen.flow(x=training_images, y=training_labels, batch_size=32)
    validation_datagen = ImageDataGenerator(rescale=1.0 / 255)
    validation_generator = validation_datagen.flow(x=validation_images, y=validation_labels, batch_size=32)
    return train_generator, validation_generator


def create_model():
    # TODO: no more than two Conv2D and two MaxPooling2D layers, then Flatten, a Dense layer, and a
    # softmax layer with one unit per label (the labels run from 0 to 24).
    model = tf.keras.models.Sequential([
        tf.keras.Input(shape=(28, 28, 1)),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(26, activation="softmax"),
    ])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


training_images, training_labels = parse_data_from_input(TRAINING_FILE)
validation_images, validation_labels = parse_data_from_input(VALIDATION_FILE)
train_generator, validation_generator = train_val_generators(training_images, training_labels,
                                                             validation_images, validation_labels)
model = create_model()
history = model.fit(train_generator, epochs=15, validation_data=validation_generator)
