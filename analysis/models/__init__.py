"""The networks: model catalog and presets, checkpoint resolution, and the runtime backends (PyTorch, ONNX Runtime, OpenVINO, MMDeploy)."""
