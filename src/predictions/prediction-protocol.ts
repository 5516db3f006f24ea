/** The transports a prediction can come over, as the prediction log records them. */
export const PREDICTION_PROTOCOLS = ['rest', 'oip-rest', 'oip-grpc'] as const;
export type PredictionProtocol = (typeof PREDICTION_PROTOCOLS)[number];
