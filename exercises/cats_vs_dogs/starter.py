import os
import random
from shutil import copyfile

import tensorflow as tf
from tensorflow.keras.optimizers import RMSprop
from tensorflow.keras.preprocessing.image import ImageDataGenerator

# The pictures are in /tmp/PetImages/Cat and /tmp/PetImages/Dog (some are zero-length files).
for folder in ["/tmp/cats-v-dogs/training/cats", "/tmp/cats-v-dogs/training/dogs",
               "/tmp/cats-v-dogs/testing/cats", "/tmp/cats-v-dogs/testing/dogs"]:
    os.makedirs(folder, exist_ok=True)


def split_data(SOURCE, TRAINING, TESTING, SPLIT_SIZE):
    # TODO: list the files in SOURCE, leave out those of size 0 (os.path.getsize), shuffle them
    # (random.sample), copy the first len(files) * SPLIT_SIZE of them to TRAINING and the rest to TESTING.
    pass


split_size = 0.9
split_data("/tmp/PetImages/Cat/", "/tmp/cats-v-dogs/training/cats/", "/tmp/cats-v-dogs/testing/cats/", split_size)
split_data("/tmp/PetImages/Dog/", "/tmp/cats-v-dogs/training/dogs/", "/tmp/cats-v-dogs/testing/dogs/", split_size)

# TODO: a convolutional network: Conv2D and MaxPooling2D blocks before Flatten and the Dense layers.
model = tf.keras.models.Sequential([
    tf.keras.Input(shape=(150, 150, 3)),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer=RMSprop(learning_rate=0.001), loss="binary_crossentropy", metrics=["accuracy"])

train_generator = ImageDataGenerator(rescale=1.0 / 255.0).flow_from_directory(
    "/tmp/cats-v-dogs/training/", batch_size=50, class_mode="binary", target_size=(150, 150))
validation_generator = ImageDataGenerator(rescale=1.0 / 255.0).flow_from_directory(
    "/tmp/cats-v-dogs/testing/", batch_size=50, class_mode="binary", target_size=(150, 150))

history = model.fit(train_generator, epochs=2, validation_data=validation_generator, verbose=2)
