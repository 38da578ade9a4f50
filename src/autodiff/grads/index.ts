/** The gradient table: every differentiable (and every declared non-differentiable) op type and its rule, read-only. */
import { readOnlyMap } from '../../util/read-only.js';
import type { GradRule } from '../rule.js';
import { absGrad } from './abs-grad.js';
import { addGrad } from './add-grad.js';
import { batchNormalizationGrad } from './batch-normalization-grad.js';
import { castGrad } from './cast-grad.js';
import { concatGrad } from './concat-grad.js';
import { convGrad } from './conv-grad.js';
import { divGrad } from './div-grad.js';
import { expGrad } from './exp-grad.js';
import { expandGrad } from './expand-grad.js';
import { gatherElementsGrad, gatherGrad } from './gather-grad.js';
import { gemmGrad } from './gemm-grad.js';
import { identityGrad } from './identity-grad.js';
import { logGrad } from './log-grad.js';
import { matmulGrad } from './matmul-grad.js';
import { maxGrad } from './max-grad.js';
import { mulGrad } from './mul-grad.js';
import { negGrad } from './neg-grad.js';
import { nonDifferentiableGrads } from './non-differentiable.js';
import { padGrad } from './pad-grad.js';
import { powGrad } from './pow-grad.js';
import { reciprocalGrad } from './reciprocal-grad.js';
import { globalAveragePoolGrad, reduceMeanGrad, reduceSumGrad, reduceSumSquareGrad } from './reduce-grad.js';
import { reluGrad } from './relu-grad.js';
import { reshapeLikeGrads } from './reshape-grad.js';
import { sliceGrad } from './slice-grad.js';
import { logSoftmaxGrad, softmaxGrad } from './softmax-grad.js';
import { sqrtGrad } from './sqrt-grad.js';
import { subGrad } from './sub-grad.js';
import { transposeGrad } from './transpose-grad.js';
import { whereGrad } from './where-grad.js';

const rules: readonly GradRule[] = [
  absGrad,
  addGrad,
  batchNormalizationGrad,
  castGrad,
  concatGrad,
  convGrad,
  divGrad,
  expGrad,
  expandGrad,
  gatherGrad,
  gatherElementsGrad,
  gemmGrad,
  identityGrad,
  logGrad,
  matmulGrad,
  maxGrad,
  mulGrad,
  negGrad,
  padGrad,
  powGrad,
  reciprocalGrad,
  reduceSumGrad,
  reduceMeanGrad,
  reduceSumSquareGrad,
  globalAveragePoolGrad,
  reluGrad,
  sliceGrad,
  softmaxGrad,
  logSoftmaxGrad,
  sqrtGrad,
  subGrad,
  transposeGrad,
  whereGrad,
  ...reshapeLikeGrads,
  ...nonDifferentiableGrads,
];

/**
 * Rules by op type. Read-only; to differentiate with other rules, pass a table of your own to `gradients`.
 * @example const rules = new Map([...GRAD_RULES, ['MyOp', myOpGrad]]); gradients(loss, [w], { rules });
 */
export const GRAD_RULES: ReadonlyMap<string, GradRule> = (() => {
  const table = new Map<string, GradRule>();
  for (const r of rules) {
    if (table.has(r.opType)) throw new Error(`two gradient rules for ${r.opType}`);
    table.set(r.opType, r);
  }
  return readOnlyMap(table);
})();
