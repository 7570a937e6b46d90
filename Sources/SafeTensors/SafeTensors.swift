// SafeTensors — a dependency-free (Foundation only) reader and writer for the safetensors format.
//
// Main types:
//   * SafeTensorsFile   — parse and validate a file, then read tensors as [Float], [Int64], [Int32], [Int] or raw bytes.
//   * SafeTensorsWriter — build a file from named tensors; deterministic bytes; atomic write to disk.
//   * SafeTensorsDType, TensorInfo, SafeTensorsError.
//
// Format: 8-byte little-endian header length N, N bytes of UTF-8 JSON (an object; optionally padded
// with spaces), then the byte buffer of little-endian, row-major tensor data that the header's
// data_offsets must tile exactly. See https://github.com/huggingface/safetensors.
