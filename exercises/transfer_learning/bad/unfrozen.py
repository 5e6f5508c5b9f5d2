# expect-fail: pretrained_base
# The pre-trained layers were left trainable: training changes InceptionV3's weights.
import tensorflow as tf
from tensorflow.keras import Model, layers
from tensorflow.keras.applications.inception_v3 import InceptionV3
from tensorflow.keras.optimizers import RMSprop
from tensorflow.keras.preprocessing.image import ImageDataGenerator

train_generator = ImageDataGenerator(rescale=1.0 / 255.0, horizontal_flip=True).flow_from_directory(
    "/tmp/training", batch_size=32, class_mode="binary", target_size=(150, 150))
validation_generator = ImageDataGenerator(rescale=1.0 / 255.0).flow_from_directory(
    "/tmp/validation", batch_size=32, class_mode="binary", target_size=(150, 150))

pre_trained_model = InceptionV3(input_shape=(150, 150, 3), include_top=False, weights=None)
pre_trained_model.load_weights("/tmp/inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5")
x = layers.Flatten()(pre_trained_model.get_layer("mixed7").output)
x = layers.Dense(1024, activation="relu")(x)
x = layers.Dense(1, activation="sigmoid")(x)
model = Model(pre_trained_model.input, x)
model.compile(optimizer=RMSprop(learning_rate=0.0001), loss="binary_crossentropy", metrics=["accuracy"])


class Stop(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs.get("accuracy", 0) > 0.999:
            self.model.stop_training = True


model.fit(train_generator, validation_data=validation_generator, epochs=1, steps_per_epoch=4, callbacks=[Stop()],
          verbose=2)
