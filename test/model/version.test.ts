import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { parseKubeVersion, parseVersion } from '../../src/model/version.js';

describe('versions', () => {
  it('reads 1.29, v1.33.2 and 1.24-dev as major.minor', () => {
    expect(parseVersion('1.29', '--x')).toEqual({ major: 1, minor: 29 });
    expect(parseVersion('v1.33.2', '--x')).toEqual({ major: 1, minor: 33 });
    expect(parseVersion('1.24-dev', '--x')).toEqual({ major: 1, minor: 24 });
    expect(() => parseVersion('soon', '--x')).toThrow(/^--x: expected a version like 1.29, got "soon"$/);
  });

  it('a Kubernetes version YAML turned into a number (1.30 → 1.3) is refused, saying to quote it', () => {
    expect(() => parseKubeVersion('1.3', '--kube-version')).toThrow(InputError);
    expect(() => parseKubeVersion('1.3', '--kube-version')).toThrow('--kube-version: Kubernetes 1.3 is older than meshdrain plans for (1.10+); if you meant 1.30, quote it in YAML ("1.30"): unquoted, YAML reads it as the number 1.3');
    expect(() => parseKubeVersion('1.9.11', '--kube-version')).toThrow(/^--kube-version: Kubernetes 1.9 is older than meshdrain plans for \(1.10\+\)$/);
    expect(parseKubeVersion('1.10', '--kube-version')).toEqual({ major: 1, minor: 10 });
    expect(parseKubeVersion('1.33', '--kube-version')).toEqual({ major: 1, minor: 33 });
  });
});
