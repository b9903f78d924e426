"""The generation backends, each a :class:`wavenet.generation.slots.SlotGenerator` (see :mod:`wavenet.generation`)."""
