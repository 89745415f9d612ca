"""Knowledge distillation (Hinton et al. 2015): the student learns the labels and the teacher's softened
class probabilities, computed on the fly on the same augmented batch. The model is Keras' own Distiller
example (keras.io/examples/vision/knowledge_distillation) with two changes: the zoo's models end in a
softmax, so their logits are recovered as log-probabilities (softmax(log p / T) is exactly the softened
distribution of the logits behind p), and several teachers are averaged in probability.

    loss = (1 - weight) * student loss on the labels + weight * T^2 * KL(teacher_T || student_T)

Only the student trains, and only the student is saved: it is what every later stage converts.
"""

from pathlib import Path

from edgecnn.errors import UserError
from edgecnn.tf import keras, tf

EPSILON = 1e-7


def load_teachers(paths, input_shape, classes, class_names=None):
    """The teachers as frozen Keras models, each checked against the student's input shape and classes."""
    from edgecnn.zoo.keras_file import load_own

    where = "train.distill.teacher"
    out = []
    for path in paths:
        if not Path(path).exists():
            raise UserError(f"{where}: {path} does not exist; train the teacher first (make {path}) or give the "
                            f"path of a trained Keras model.")
        model = load_own(path, key=where)
        shape = list(model.inputs[0].shape[1:])
        if shape != list(input_shape):
            raise UserError(f"{where}: {path} takes {'x'.join(map(str, shape))} images but the student takes "
                            f"{'x'.join(map(str, input_shape))} (dataset.input_shape); a teacher must take the "
                            f"student's images: train it with the same dataset section.")
        got = model.outputs[0].shape[-1]
        if got != classes:
            raise UserError(f"{where}: {path} outputs {got} classes but the student's data has {classes}; a "
                            f"teacher must be trained on the same classes.")
        labels = Path(path).parent / "labels.txt"
        if class_names and labels.is_file() and labels.read_text().split("\n")[:classes] != list(class_names):
            raise UserError(f"{where}: {path}'s classes ({labels}) are not the student's, in the same order; a "
                            f"teacher must be trained on the same classes.")
        model.trainable = False
        out.append(model)
    return out


def soften(probabilities, temperature):
    """softmax(log p / T): the class distribution at temperature T of the logits behind p."""
    return tf.nn.softmax(tf.math.log(tf.maximum(probabilities, EPSILON)) / temperature, axis=-1)


class Distiller(keras.Model):
    """Trains `student` on (1 - weight) * its compiled loss + weight * T^2 * KL(teacher || student) at T."""

    def __init__(self, student, teachers, temperature, weight):
        super().__init__(name=f"{student.name}_distilled")
        self.student, self.teachers = student, teachers
        self.temperature, self.weight = temperature, weight
        self.distillation_tracker = keras.metrics.Mean(name="distillation_loss")

    def call(self, x, training=False):
        return self.student(x, training=training)

    def teacher_probabilities(self, x):
        outputs = [tf.cast(t(x, training=False), tf.float32) for t in self.teachers]
        return tf.add_n(outputs) / len(outputs)

    def distillation_loss(self, teacher, student):
        """T^2 * KL(teacher_T || student_T), averaged over the batch (T^2 keeps its gradients' scale, Hinton)."""
        t = soften(teacher, self.temperature)
        log_s = tf.nn.log_softmax(tf.math.log(tf.maximum(student, EPSILON)) / self.temperature, axis=-1)
        kl = tf.reduce_sum(t * (tf.math.log(tf.maximum(t, EPSILON)) - log_s), axis=-1)
        return tf.reduce_mean(kl) * self.temperature ** 2

    def train_step(self, data):
        x, y = data
        teacher = self.teacher_probabilities(x)
        with tf.GradientTape() as tape:
            p = tf.cast(self.student(x, training=True), tf.float32)
            student_loss = self.compiled_loss(y, p, regularization_losses=self.student.losses)
            distillation = self.distillation_loss(teacher, p)
            loss = (1 - self.weight) * student_loss + self.weight * distillation
        self.optimizer.minimize(loss, self.student.trainable_variables, tape=tape)   # loss scaling included
        self.compiled_metrics.update_state(y, p)
        self.distillation_tracker.update_state(distillation)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, data):
        x, y = data
        p = tf.cast(self.student(x, training=False), tf.float32)
        self.compiled_loss(y, p, regularization_losses=self.student.losses)
        self.compiled_metrics.update_state(y, p)
        self.distillation_tracker.update_state(self.distillation_loss(self.teacher_probabilities(x), p))
        return {m.name: m.result() for m in self.metrics}

    @property
    def metrics(self):
        return super().metrics + [self.distillation_tracker]
