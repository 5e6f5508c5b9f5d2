import csv

import numpy as np
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

TRAINING_FILE = "./sign_mnist_train.csv"
VALIDATION_FILE = "./sign_mnist_test.csv"


def parse_data_from_input(filename):
    """The images (n, 28, 28) and labels (n,) of one CSV file: a header line, then a label and 784 pixels per row."""
    with open(filename) as file:
        reader = csv.reader(file, delimiter=",")
        next(reader)  # the header: label,pixel1,...,pixel784
        labels, images = [], []
        for row in reader:
            labels.append(row[0])
            images.append(row[1:])
    labels = np.array(labels, dtype=np.float64)
    images = np.array(images, dtype=np.float64).reshape(len(labels), 28, 28)
    return images, labels


def train_val_generators(training_images, training_labels, validation_images, validation_labels):
    training_images = np.expand_dims(training_images, axis=3)
    validation_images = np.expand_dims(validation_images, axis=3)
    train_datagen = ImageDataGenerator(rescale=1.0 / 255, rotation_range=20, width_shift_range=0.1,
                                       height_shift_range=0.1, zoom_range=0.1, fill_mode="nearest")
    train_generator = train_datagen.flow(x=training_images, y=training_labels, batch_size=32)
    validation_datagen = ImageDataGenerator(rescale=1.0 / 255)  # validation pictures only rescaled
    validation_generator = validation_datagen.flow(x=validation_images, y=validation_labels, batch_size=32)
    return train_generator, validation_generator


def create_model():
    model = tf.keras.models.Sequential([
        tf.keras.Input(shape=(28, 28, 1)),
        tf.keras.layers.Conv2D(64, (3, 3), activation="relu"),
        tf.keras.layers.MaxPooling2D(2, 2),
        tf.keras.layers.Conv2D(64, (3, 3), activation="relu"),
        tf.keras.layers.MaxPooling2D(2, 2),
        tf.keras.layers.Flatten(),
        tf.keras.layers.Dense(512, activation="relu"),
        tf.keras.layers.Dense(26, activation="softmax"),  # labels 0..24 (A..Y); 26 outputs leave room for Z
    ])
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class GoodEnough(tf.keras.callbacks.Callback):
    """Stop once validation accuracy is comfortably above the 80% the exercise asks for."""

    def on_epoch_end(self, epoch, logs=None):
        if logs.get("val_accuracy", 0) >= 0.95:
            self.model.stop_training = True


training_images, training_labels = parse_data_from_input(TRAINING_FILE)
validation_images, validation_labels = parse_data_from_input(VALIDATION_FILE)
train_generator, validation_generator = train_val_generators(training_images, training_labels,
                                                             validation_images, validation_labels)
model = create_model()
history = model.fit(train_generator, epochs=15, validation_data=validation_generator, verbose=2,
                    callbacks=[GoodEnough()])
