"""The posecoach command line: one module per subcommand, the model options defined once (options.py)."""
