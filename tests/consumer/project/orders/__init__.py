"""An outside team's handler package: nothing from this repository's lambda_src."""
