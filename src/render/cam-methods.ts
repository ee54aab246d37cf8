/**
 * The class activation map methods by name, in a file of their own: the CLI lists them at
 * start-up without loading the arithmetic (and its linear algebra).
 */

/** The methods weighed by the gradient, as pytorch-grad-cam names them. */
export const GRADIENT_CAM_METHODS = ['gradcam', 'gradcam++', 'hirescam', 'xgradcam', 'layercam'] as const;
export type GradientCamMethod = (typeof GRADIENT_CAM_METHODS)[number];
/** Every method: Score-CAM and Ablation-CAM need forward passes only, Eigen-CAM the maps alone. */
export const CAM_METHODS = [...GRADIENT_CAM_METHODS, 'scorecam', 'ablationcam', 'eigencam'] as const;
export type CamMethod = (typeof CAM_METHODS)[number];

export const isGradientMethod = (method: CamMethod): method is GradientCamMethod =>
  (GRADIENT_CAM_METHODS as readonly string[]).includes(method);
