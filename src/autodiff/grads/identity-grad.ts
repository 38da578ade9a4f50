import type { GradRule } from '../rule.js';
import { outputGrad } from '../rule.js';

export const identityGrad: GradRule = {
  opType: 'Identity',
  gradFn(node, dys) {
    return [outputGrad(node, dys)];
  },
};
