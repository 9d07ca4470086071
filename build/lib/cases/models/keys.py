from django.db import models


class DataKey(models.Model):
    """A person's data key, wrapped by a KEK. Never copied into history: erasing it shreds."""

    id = models.UUIDField(primary_key=True)
    subject_id = models.UUIDField(unique=True)
    kek_id = models.CharField(max_length=64, db_index=True)
    wrapped = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)
    rotated_at = models.DateTimeField(null=True, blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"data key {self.id} ({self.kek_id})"
