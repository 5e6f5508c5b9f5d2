# cnn_augmentation as the course's later notebooks write it: image_dataset_from_directory (pictures resized to
# 120x120, fractions of a level: 2,000 of them are 329 MiB of float32, too many to record, so each is kept by its
# hash and the evaluator reads the exercise's own pictures again), a cached and prefetched pipeline, and
# augmentation layers with Rescaling in the model (bench.py --verification).
import tensorflow as tf

TRAINING_DIR = "cats_and_dogs_filtered/train"
VALIDATION_DIR = "cats_and_dogs_filtered/validation"

train_dataset = tf.keras.utils.image_dataset_from_directory(TRAINING_DIR, image_size=(120, 120), batch_size=32,
                                                            label_mode="binary")
validation_dataset = tf.keras.utils.image_dataset_from_directory(VALIDATION_DIR, image_size=(120, 120),
                                                                 batch_size=32, label_mode="binary")
train_dataset = train_dataset.cache().shuffle(1000).prefetch(tf.data.AUTOTUNE)
validation_dataset = validation_dataset.cache().prefetch(tf.data.AUTOTUNE)

augmentation = tf.keras.Sequential([
    tf.keras.layers.RandomFlip("horizontal"),
    tf.keras.layers.RandomTranslation(0.2, 0.2, fill_mode="nearest"),
])

model = tf.keras.models.Sequential([
    tf.keras.Input(shape=(120, 120, 3)),
    augmentation,
    tf.keras.layers.Rescaling(1.0 / 255),
    tf.keras.layers.Conv2D(16, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Conv2D(32, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Conv2D(64, (3, 3), activation="relu"),
    tf.keras.layers.MaxPooling2D(2, 2),
    tf.keras.layers.Flatten(),
    tf.keras.layers.Dense(256, activation="relu"),
    tf.keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(loss="binary_crossentropy", optimizer=tf.keras.optimizers.RMSprop(learning_rate=0.001),
              metrics=["accuracy"])


class GoodEnough(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs.get("val_accuracy", 0) >= 0.88:
            self.model.stop_training = True


model.fit(train_dataset, epochs=30, validation_data=validation_dataset, callbacks=[GoodEnough()], verbose=2)
