# expect-fail: convolutional
# Augmented data, but a network of Dense layers only.
import tensorflow as tf
from tensorflow.keras.preprocessing.image import ImageDataGenerator

train = ImageDataGenerator(rescale=1.0 / 255, horizontal_flip=True, width_shift_range=0.2)
train_generator = train.flow_from_directory("cats_and_dogs_filtered/train", target_size=(64, 64),
                                            batch_size=20, class_mode="binary")
model = tf.keras.models.Sequential([
    tf.keras.layers.Flatten(input_shape=(64, 64, 3)),
    tf.keras.layers.Dense(64, activation="relu"),
    tf.keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
model.fit(train_generator, epochs=2, verbose=2)
