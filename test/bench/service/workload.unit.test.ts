// The bench's reading of the near cache's counters from an API process's /metrics text.
import { expect } from 'chai';
import { nearCounts, nearHitPercent } from '../../../bench/service/workload.js';

const text = (hit: number, miss: number) => `# HELP graminsta_cache_near_requests_total Near cache lookups
# TYPE graminsta_cache_near_requests_total counter
graminsta_cache_near_requests_total{result="miss"} ${miss}
graminsta_cache_near_requests_total{result="hit"} ${hit}
graminsta_cache_requests_total{result="hit"} 999
`;

describe('bench: near-cache counts', () => {
  it('reads hits, misses and bypasses (0 for a result not seen yet), and nothing without the metric', () => {
    expect(nearCounts(text(30, 7))).to.deep.equal({ hit: 30, miss: 7, bypass: 0 });
    expect(nearCounts('# TYPE graminsta_cache_requests_total counter\ngraminsta_cache_requests_total{result="hit"} 3\n')).to.equal(null);
  });

  it('gives the share of hits between two readings, NaN when nothing was looked up', () => {
    const a = nearCounts(text(30, 7))!;
    expect(nearHitPercent(a, nearCounts(text(120, 17))!)).to.equal(90);
    expect(nearHitPercent(a, { ...a, bypass: 10 })).to.equal(0);
    expect(nearHitPercent(a, a)).to.be.NaN;
  });
});
