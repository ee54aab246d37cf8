/** Weights as every reader gives them (HDF5, tfjs shards, ONNX initialisers): named float32 arrays with their shapes. */
export interface WeightArray {
  /** The name stored in the file, e.g. `block1_conv1/kernel:0` or `block1_conv1_W_1:0`. */
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Weight values per layer name, in the order the layer stores them (kernel, bias, ...). */
export type LayerWeights = Map<string, WeightArray[]>;
