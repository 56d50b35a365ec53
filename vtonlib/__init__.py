"""vtonlib: the helper library of a course that rebuilds DCI-VTON diffusion virtual try-on and repairs
its hands with a hand-region LoRA. Each notebook of the course explains one module:

* ``vtonlib.data``: VITON-HD's layout and labels, a reader, a checker, the built-in sample dataset and
  the hand-visible subset (notebook 01);
* ``vtonlib.imaging``: the one place where images change form (files, arrays, tensors);
* ``vtonlib.viz``: pictures and tables for the notebooks.
"""

__version__ = "0.1.0"
