# expect-score: 10
# expect-training: verified
# Course code of the TF 1/2.0 era: keras.preprocessing import, RMSprop(lr=...), fit_generator with steps.
import os

import tensorflow as tf
from keras.preprocessing.image import ImageDataGenerator
from tensorflow.keras.optimizers import RMSprop

base_dir = "cats_and_dogs_filtered"
train_datagen = ImageDataGenerator(rescale=1.0 / 255, rotation_range=40, width_shift_range=0.2,
                                   height_shift_range=0.2, shear_range=0.2, zoom_range=0.2,
                                   horizontal_flip=True, fill_mode="nearest")
test_datagen = ImageDataGenerator(rescale=1.0 / 255)
train_generator = train_datagen.flow_from_directory(os.path.join(base_dir, "train"), target_size=(150, 150),
                                                    batch_size=20, class_mode="binary")
validation_generator = test_datagen.flow_from_directory(os.path.join(base_dir, "validation"),
                                                        target_size=(150, 150), batch_size=20, class_mode="binary")
model = tf.keras.models.Sequential([
    tf.keras.layers.Conv2D(16, (3, 3), activation="relu", input_shape=(150, 150, 3)),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Conv2D(32, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Conv2D(64, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(512, activation="relu"),
    tf.keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(loss="binary_crossentropy", optimizer=RMSprop(lr=1e-3), metrics=["acc"])
history = model.fit_generator(train_generator, steps_per_epoch=15, epochs=8, validation_data=validation_generator,
                              validation_steps=6, verbose=2)
