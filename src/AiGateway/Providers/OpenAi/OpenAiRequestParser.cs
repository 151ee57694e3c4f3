using System.Globalization;
using System.Text.Json;

namespace AiGateway.Providers.OpenAi;

/// <summary>Recognizes OpenAI (and OpenAI-compatible) endpoints and validates the fields metering relies on.</summary>
internal static class OpenAiRequestParser
{
    /// <summary>OpenAI's documented default when an image request names no model.</summary>
    private const string DefaultImageModel = "dall-e-2";

    /// <summary>OpenAI's documented defaults when a video request names no model or length.</summary>
    private const string DefaultVideoModel = "sora-2";
    private const int DefaultVideoSeconds = 4;

    private static readonly HashSet<string> FormFields = ["model", "n", "size", "quality", "seconds", "stream"];

    /// <summary>Parses a request whose path has had the route prefix and surrounding slashes removed.</summary>
    public static ParsedRequest Parse(string path, bool isPost, ReadOnlyMemory<byte> body)
    {
        var operation = isPost ? OperationFor(path) : Operation.Unmetered;
        if (operation == Operation.Unmetered)
            return new ParsedRequest(ProviderFormat.OpenAi, Operation.Unmetered, path, body, null);

        if (operation is Operation.OpenAiImageEdits or Operation.OpenAiVideos or Operation.OpenAiImageGenerations
            && OpenAiMultipartForm.LooksLikeMultipart(body.Span))
            return ParseMultipart(operation, path, body);

        var document = ProviderRequestParser.ParseJsonObject(body);
        return ProviderRequestParser.Build(document, d => ParseJson(operation, path, body, d));
    }

    private static Operation OperationFor(string path)
    {
        // Compatible servers are mounted both with and without the "v1/" segment.
        var p = path.StartsWith("v1/", StringComparison.Ordinal) ? path[3..] : path;
        return p switch
        {
            "chat/completions" => Operation.OpenAiChatCompletions,
            "completions" => Operation.OpenAiCompletions,
            "responses" => Operation.OpenAiResponses,
            "embeddings" => Operation.OpenAiEmbeddings,
            "images/generations" => Operation.OpenAiImageGenerations,
            "images/edits" => Operation.OpenAiImageEdits,
            "videos" => Operation.OpenAiVideos,
            _ => Operation.Unmetered,
        };
    }

    private static ParsedRequest ParseJson(Operation operation, string path, ReadOnlyMemory<byte> body, JsonDocument document)
    {
        var root = document.RootElement;
        var stream = RequestFields.OptionalBool(root, "stream") ?? false;
        switch (operation)
        {
            case Operation.OpenAiChatCompletions:
            {
                var model = RequestFields.RequiredString(root, "model");
                RequestFields.ArrayOfObjects(RequestFields.RequiredArray(root, "messages"), "messages");
                RequestFields.OptionalArray(root, "tools");
                RequestFields.OptionalObject(root, "stream_options");
                var maxCompletion = RequestFields.OptionalInt(root, "max_completion_tokens", 1, RequestFields.MaxTokensLimit);
                var maxTokens = RequestFields.OptionalInt(root, "max_tokens", 1, RequestFields.MaxTokensLimit);
                return new ParsedRequest(ProviderFormat.OpenAi, operation, path, body, document)
                {
                    Model = model,
                    Stream = stream,
                    // With both fields set, an upstream may honour either: the larger is what it may generate.
                    MaxOutputTokens = MaxOf(maxCompletion, maxTokens),
                    N = RequestFields.OptionalInt(root, "n", 1, 128) ?? 1,
                };
            }
            case Operation.OpenAiCompletions:
            {
                var model = RequestFields.RequiredString(root, "model");
                RequestFields.StringOrArray(root, "prompt");
                RequestFields.OptionalObject(root, "stream_options");
                return new ParsedRequest(ProviderFormat.OpenAi, operation, path, body, document)
                {
                    Model = model,
                    Stream = stream,
                    MaxOutputTokens = RequestFields.OptionalInt(root, "max_tokens", 1, RequestFields.MaxTokensLimit),
                    // best_of generates (and bills) that many completions server-side, returning n of them.
                    N = MaxOf(RequestFields.OptionalInt(root, "n", 1, 128), RequestFields.OptionalInt(root, "best_of", 1, 128)) ?? 1,
                };
            }
            case Operation.OpenAiResponses:
            {
                var model = RequestFields.RequiredString(root, "model");
                RequestFields.StringOrArray(root, "input");
                RequestFields.OptionalString(root, "instructions");
                RequestFields.OptionalArray(root, "tools");
                return new ParsedRequest(ProviderFormat.OpenAi, operation, path, body, document)
                {
                    Model = model,
                    Stream = stream,
                    MaxOutputTokens = RequestFields.OptionalInt(root, "max_output_tokens", 1, RequestFields.MaxTokensLimit),
                };
            }
            case Operation.OpenAiEmbeddings:
            {
                var model = RequestFields.RequiredString(root, "model");
                RequestFields.StringOrArray(root, "input", required: true);
                return new ParsedRequest(ProviderFormat.OpenAi, operation, path, body, document) { Model = model };
            }
            case Operation.OpenAiImageGenerations or Operation.OpenAiImageEdits:
                return new ParsedRequest(ProviderFormat.OpenAi, operation, path, body, document)
                {
                    Model = RequestFields.OptionalString(root, "model") ?? DefaultImageModel,
                    Stream = stream,
                    N = RequestFields.OptionalInt(root, "n", 1, 10) ?? 1,
                    ImageSize = RequestFields.OptionalString(root, "size"),
                    ImageQuality = RequestFields.OptionalString(root, "quality"),
                };
            default: // videos
                return new ParsedRequest(ProviderFormat.OpenAi, operation, path, body, document)
                {
                    Model = RequestFields.OptionalString(root, "model") ?? DefaultVideoModel,
                    VideoSeconds = VideoSeconds(root) ?? DefaultVideoSeconds,
                };
        }
    }

    /// <summary>The larger of two optional limits.</summary>
    internal static int? MaxOf(int? a, int? b) => a is null ? b : b is null ? a : Math.Max(a.Value, b.Value);

    /// <summary>OpenAI documents <c>seconds</c> as a string ("4", "8", "12"); a number is accepted too.</summary>
    private static int? VideoSeconds(JsonElement root)
    {
        if (!RequestFields.TryGet(root, "seconds", out var value)) return null;
        if (value.ValueKind == JsonValueKind.String) return ParseSeconds(value.GetString());
        return RequestFields.OptionalInt(root, "seconds", 1, 3600);
    }

    private static int? ParseSeconds(string? text)
    {
        if (string.IsNullOrEmpty(text)) return null;
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var s) || s < 1 || s > 3600)
            throw new InvalidRequestException($"Invalid value for 'seconds': '{text}' is not a whole number of seconds between 1 and 3600.", "seconds");
        return s;
    }

    private static ParsedRequest ParseMultipart(Operation operation, string path, ReadOnlyMemory<byte> body)
    {
        var fields = OpenAiMultipartForm.ReadFields(body.Span, FormFields);
        var n = 1;
        if (fields.TryGetValue("n", out var nText)
            && (!int.TryParse(nText, NumberStyles.None, CultureInfo.InvariantCulture, out n) || n < 1 || n > 10))
            throw new InvalidRequestException($"Invalid value for 'n': '{nText}' is not an integer between 1 and 10.", "n");
        var isVideo = operation == Operation.OpenAiVideos;
        return new ParsedRequest(ProviderFormat.OpenAi, operation, path, body, null)
        {
            IsMultipart = true,
            Model = fields.GetValueOrDefault("model") is { Length: > 0 } m ? m : isVideo ? DefaultVideoModel : DefaultImageModel,
            Stream = fields.GetValueOrDefault("stream") == "true",
            N = isVideo ? 1 : n,
            ImageSize = isVideo ? null : fields.GetValueOrDefault("size"),
            ImageQuality = isVideo ? null : fields.GetValueOrDefault("quality"),
            VideoSeconds = isVideo ? ParseSeconds(fields.GetValueOrDefault("seconds")) ?? DefaultVideoSeconds : null,
        };
    }
}
