"""An outside team's handler package on the installed runtime (``lambda_src[postgres]`` in its
requirements.txt): an orders API, a queue worker, a daily job and its migrations."""
