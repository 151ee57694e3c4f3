using AiGateway.Providers;

namespace AiGateway.Metering;

/// <summary>
/// The most usage a call can honestly have, given what the request allowed: output up to the output limit the hold
/// covers (the request's own, the clamp, or the model's maximum) per choice; input up to the counted prompt ×
/// <see cref="MeteringOptions.ReportedInputFactor"/> + <see cref="MeteringOptions.ReportedInputSlackTokens"/> (what the
/// gateway cannot count — images, files, server-side conversation state — stays inside the slack); images and video
/// seconds up to what was asked. Reported usage beyond it is charged at the bound.
/// </summary>
public static class UsageBound
{
    /// <summary>Returns <paramref name="usage"/> limited to the bound of <paramref name="call"/>; <paramref name="clamped"/> tells whether anything was cut.</summary>
    public static CallUsage Apply(MeteredCall call, CallUsage usage, MeteringOptions options, out bool clamped)
    {
        var estimate = call.Estimate;
        var choices = Math.Max(1, call.Request.N);
        var inputBound = Saturating.Add(Saturating.Multiply(Math.Max(0, estimate.InputTokens), options.ReportedInputFactor), options.ReportedInputSlackTokens);
        // Without a known limit (no maximum configured) only the gateway's own ceiling on a request's limit applies.
        var perChoice = estimate.OutputLimit is > 0 and var limit ? limit : RequestFields.MaxTokensLimit;
        var outputBound = Saturating.Multiply(perChoice, choices);

        var input = Math.Clamp(usage.InputTokens, 0, inputBound);
        var output = Math.Clamp(usage.OutputTokens, 0, outputBound);
        var cached = Math.Clamp(usage.CachedInputTokens, 0, input);
        var bounded = usage with
        {
            InputTokens = input,
            CachedInputTokens = cached,
            CacheWriteInputTokens = Math.Clamp(usage.CacheWriteInputTokens, 0, input - cached),
            OutputTokens = output,
            ReasoningTokens = Math.Clamp(usage.ReasoningTokens, 0, output),
            Images = estimate.Units.Images > 0 ? Math.Clamp(usage.Images, 0, estimate.Units.Images) : usage.Images,
            VideoSeconds = estimate.Units.VideoSeconds > 0 ? Math.Clamp(usage.VideoSeconds, 0, estimate.Units.VideoSeconds) : usage.VideoSeconds,
        };
        // Only cuts of what was reported count; sub-count repairs of a consistent report change nothing.
        clamped = input < usage.InputTokens || output < usage.OutputTokens || bounded.Images < usage.Images
                  || bounded.VideoSeconds < usage.VideoSeconds;
        return bounded;
    }

    /// <summary>Arithmetic on counts from outside: saturates at <see cref="long.MaxValue"/> instead of overflowing.</summary>
    private static class Saturating
    {
        public static long Add(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;

        public static long Multiply(long a, long b) => b != 0 && a > long.MaxValue / b ? long.MaxValue : a * b;
    }
}
