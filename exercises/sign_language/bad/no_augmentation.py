# expect-fail: augmented
# The training ImageDataGenerator only rescales: every epoch shows the network the very same pictures.
import numpy as np
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator


def parse_data_from_input(filename):
    table = np.loadtxt(filename, delimiter=",", skiprows=1)
    return table[:, 1:].reshape(-1, 28, 28), table[:, 0]


training_images, training_labels = parse_data_from_input("sign_mnist_train.csv")
validation_images, validation_labels = parse_data_from_input("sign_mnist_test.csv")
train_generator = ImageDataGenerator(rescale=1 / 255).flow(training_images[..., None], training_labels, batch_size=32)
validation_generator = ImageDataGenerator(rescale=1 / 255).flow(validation_images[..., None], validation_labels,
                                                                 batch_size=32)
model = tf.keras.models.Sequential([
    tf.keras.Input(shape=(28, 28, 1)),
    tf.keras.layers.Conv2D(32, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(128, activation="relu"),
    tf.keras.layers.Dense(25, activation="softmax"),
])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(train_generator, epochs=3, validation_data=validation_generator)
