using System.Text.Json;
using AiGateway.Pricing;
using AiGateway.Providers;
using AiGateway.Tokenizers;

namespace AiGateway.Metering;

/// <summary>The pre-call estimate of one request: the price it resolved to, the token and unit counts, and the credits.</summary>
public sealed record CallEstimate(ModelPrice Price, long InputTokens, long OutputTokens, EstimateUnits Units, Credits Credits);

/// <summary>
/// Step "estimate": input tokens from the tokenizer (OpenAI-exact for OpenAI models with a known encoding, o200k_base
/// scaled by the price book's approximation factor otherwise), output tokens from the requested maximum or the model's
/// expected output, units from the request, credits from the price book.
/// </summary>
public sealed class CallEstimator(PriceBook prices)
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
        var perChoice = price.OutputTokensForEstimate(maxOutputTokens ?? request.MaxOutputTokens);
        var output = IsImageOrVideo(request.Operation) ? 0 : checked(perChoice * Math.Max(1, request.N));
        var units = new EstimateUnits
        {
            Images = IsImage(request.Operation) ? Math.Max(1, request.N) : 0,
            ImageSize = request.ImageSize,
            ImageQuality = request.ImageQuality,
            VideoSeconds = request.Operation == Operation.OpenAiVideos ? Math.Max(1, request.VideoSeconds ?? 4) : 0,
            AudioUses = price.Modality == ModelModality.Audio ? 1 : 0,
        };
        return new EstimateOutcome(new CallEstimate(price, input, output, units, CostCalculator.Estimate(price, input, output, units)), null);
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
        var exact = request.Format == ProviderFormat.OpenAi && request.HasJsonBody && price.ApproximationFactor == 1m;
        if (exact)
        {
            var root = request.Root;
            switch (request.Operation)
            {
                case Operation.OpenAiChatCompletions:
                    return ChatTokenCounter.CountChatCompletion(root, request.Model);
                case Operation.OpenAiResponses:
                    return ChatTokenCounter.CountResponses(root, request.Model);
                case Operation.OpenAiEmbeddings:
                case Operation.OpenAiCompletions:
                    return ChatTokenCounter.CountPlainRequest(root, request.Model);
            }
        }
        return CountText(price, PromptText.Collect(request));
    }

    private static bool IsImage(Operation operation) => operation is Operation.OpenAiImageGenerations or Operation.OpenAiImageEdits;

    private static bool IsImageOrVideo(Operation operation) => IsImage(operation) || operation == Operation.OpenAiVideos;
}

/// <summary>Either an estimate or the error to answer with.</summary>
public readonly record struct EstimateOutcome(CallEstimate? Estimate, GatewayError? Error);
