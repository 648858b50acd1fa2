"""``import dashscope_private.auto`` activates from the environment.

For places where ``.pth`` files are not processed: ``python -S``,
``pip install --target`` folders on ``PYTHONPATH``, zipapps and frozen apps.
Importing it after the ``.pth`` already activated is harmless.
"""

from ._boot import boot

boot()
