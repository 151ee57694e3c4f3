using System.Text.Json;
using AiGateway.Pricing;
using AiGateway.Providers;
using AiGateway.Tokenizers;

namespace AiGateway.Metering;

/// <summary>
/// The pre-call estimate of one request: the price it resolved to, the token and unit counts, the expected credits
/// (<see cref="Credits"/>, shown as <c>X-Credits-Estimate</c>) and the worst case the hold covers (<see cref="Held"/>).
/// </summary>
/// <param name="OutputTokens">Expected output tokens, all choices together.</param>
/// <param name="OutputLimit">Output tokens per choice the hold covers (the request's limit, the clamp, or the model's maximum); null when output is not limited by tokens (images, videos).</param>
/// <param name="Held">The credits to hold: input plus <paramref name="OutputLimit"/> for every choice, plus the units.</param>
public sealed record CallEstimate(ModelPrice Price, long InputTokens, long OutputTokens, EstimateUnits Units, Credits Credits,
    long? OutputLimit, Credits Held);

/// <summary>
/// Step "estimate": input tokens from the tokenizer (OpenAI-exact for OpenAI models with a known encoding, o200k_base
/// scaled by the price book's approximation factor otherwise), units from the request, and two output counts: the
/// expected output (the model's typical output learned from recent calls, else the price book's expected output,
/// never above the limit) for the shown estimate, and the most the call may produce (the request's limit, else the
/// model's maximum) for the hold.
/// </summary>
public sealed class CallEstimator(PriceBook prices, OutputTokenStats stats)
{
    /// <summary>Estimates a parsed request; <paramref name="maxOutputTokens"/> overrides the request's own limit (clamp).</summary>
    public EstimateOutcome Estimate(ParsedRequest request, long? maxOutputTokens = null)
    {
        if (!prices.TryResolve(request.Model, out var price))
        {
            return new EstimateOutcome(null, new GatewayError(GatewayErrorKind.NotFound,
                $"The model '{request.Model}' does not exist or is not available through this gateway.", Code: "model_not_found", Param: "model"));
        }
        long input;
        try
        {
            input = CountInputTokens(request, price);
        }
        catch (InvalidOperationException e)
        {
            // The token counters read fields the parsers do not validate (a message's role, a content block's type);
            // JsonElement throws on a wrong type there, which is the client's error, not the gateway's.
            return new EstimateOutcome(null, new GatewayError(GatewayErrorKind.BadRequest,
                $"The request has a field of an unexpected type: {e.Message}", Code: "invalid_request"));
        }
        var requested = maxOutputTokens ?? request.MaxOutputTokens;
        var choices = Math.Max(1, request.N);
        long? limit = IsImageOrVideo(request.Operation) ? null : price.OutputLimitForHold(requested);
        var typical = stats.Typical(price) ?? price.ExpectedOutputTokens;
        // Limits are at most RequestFields.MaxTokensLimit (10^7) and choices at most 128, so these products fit easily.
        var expected = limit is { } l ? Math.Min(typical, l) * choices : 0;
        var worst = limit is { } w ? w * choices : 0;
        var units = new EstimateUnits
        {
            Images = IsImage(request.Operation) ? Math.Max(1, request.N) : 0,
            ImageSize = request.ImageSize,
            ImageQuality = request.ImageQuality,
            VideoSeconds = request.Operation == Operation.OpenAiVideos ? Math.Max(1, request.VideoSeconds ?? 4) : 0,
            AudioUses = price.Modality == ModelModality.Audio ? 1 : 0,
        };
        return new EstimateOutcome(new CallEstimate(price, input, expected, units, CostCalculator.Estimate(price, input, expected, units),
            limit, CostCalculator.Estimate(price, input, worst, units)), null);
    }

    /// <summary>Tokens of text the gateway counted itself (delivered stream output, bodies without usage), scaled like the estimate.</summary>
    public static long CountText(ModelPrice price, string text)
    {
        if (string.IsNullOrEmpty(text)) return 0;
        var encoding = ModelEncodings.ForEncodingName(price.Encoding) ?? TiktokenEncoding.O200kBase;
        return price.ScaleCountedTokens(encoding.CountTokens(text));
    }

    private static long CountInputTokens(ParsedRequest request, ModelPrice price)
    {
        // A dialect with an exact tokenizer (OpenAI's own models) counts framing too; a price with an approximation
        // factor is a model that tokenizer does not know, so it is counted from the prompt text like the others.
        if (request.HasJsonBody && price.ApproximationFactor == 1m && request.Dialect.CountInputTokensExactly(request) is { } exact)
            return exact;
        return CountText(price, PromptText.Collect(request));
    }

    private static bool IsImage(Operation operation) => operation is Operation.OpenAiImageGenerations or Operation.OpenAiImageEdits;

    private static bool IsImageOrVideo(Operation operation) => IsImage(operation) || operation == Operation.OpenAiVideos;
}

/// <summary>Either an estimate or the error to answer with.</summary>
public readonly record struct EstimateOutcome(CallEstimate? Estimate, GatewayError? Error);
