using System.Collections.Concurrent;
using AiGateway.Pricing;

namespace AiGateway.Metering;

/// <summary>
/// The typical output of each priced model, learned from recent calls' reported usage, so the shown estimate
/// (<c>X-Credits-Estimate</c>) is the expected cost rather than a fixed default. In memory and bounded: one small
/// entry per price-book model. Only the estimate uses it; holds always cover the worst case.
/// </summary>
public sealed class OutputTokenStats
{
    /// <summary>Calls seen before the learned value replaces the price book's <c>expectedOutputTokens</c>.</summary>
    public const int MinSamples = 5;

    /// <summary>The average weighs the last ~<c>Window</c> calls most (an exponentially decaying average).</summary>
    public const int Window = 50;

    private readonly ConcurrentDictionary<string, Entry> _byModel = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The learned output tokens per choice of <paramref name="price"/>'s model, or null until enough calls were seen.</summary>
    public long? Typical(ModelPrice price) => _byModel.TryGetValue(price.Name, out var entry) ? entry.Typical : null;

    /// <summary>Adds one call's reported output tokens per choice.</summary>
    public void Observe(ModelPrice price, long outputTokensPerChoice)
    {
        if (outputTokensPerChoice < 0) return;
        // Keyed by the configured model name only, so the table never grows beyond the price book.
        _byModel.GetOrAdd(price.Name, static _ => new Entry()).Add(outputTokensPerChoice);
    }

    private sealed class Entry
    {
        private readonly Lock _lock = new();
        private double _average;
        private int _samples;

        public long? Typical
        {
            get
            {
                lock (_lock)
                    return _samples < MinSamples ? null : (long)Math.Ceiling(_average);
            }
        }

        public void Add(long value)
        {
            lock (_lock)
            {
                // A plain mean for the first calls, then a decaying average over about Window calls (token counts, not money).
                if (_samples < Window) _samples++;
                _average += (value - _average) / _samples;
            }
        }
    }
}
