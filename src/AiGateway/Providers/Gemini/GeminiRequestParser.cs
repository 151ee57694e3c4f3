using System.Text.Json;

namespace AiGateway.Providers.Gemini;

/// <summary>Recognizes Gemini <c>models/{model}:method</c> requests; the model comes from the path, not the body.</summary>
internal static class GeminiRequestParser
{
    /// <summary>Parses a request whose path has had the route prefix and surrounding slashes removed.</summary>
    public static ParsedRequest Parse(string path, bool isPost, ReadOnlyMemory<byte> body)
    {
        var (model, method) = SplitModelPath(path);
        var operation = !isPost || model is null ? Operation.Unmetered : method switch
        {
            "generateContent" => Operation.GeminiGenerateContent,
            "streamGenerateContent" => Operation.GeminiStreamGenerateContent,
            // countTokens, embedContent and everything else pass through unmetered.
            _ => Operation.Unmetered,
        };
        if (operation == Operation.Unmetered)
            return new ParsedRequest(ProviderFormat.Gemini, Operation.Unmetered, path, body, null);

        var document = ProviderRequestParser.ParseJsonObject(body);
        return ProviderRequestParser.Build(document, d => ParseGenerate(operation, path, model!, body, d));
    }

    /// <summary>Splits <c>v1beta/models/gemini-2.5-pro:generateContent</c> into the model and the method name.</summary>
    internal static (string? Model, string? Method) SplitModelPath(string path)
    {
        var colon = path.LastIndexOf(':');
        if (colon < 0) return (null, null);
        var resource = path[..colon];
        var method = path[(colon + 1)..];
        // The resource is "<version>/models/<id>" or "<version>/tunedModels/<id>".
        var slash = resource.LastIndexOf('/');
        if (slash < 0) return (null, method);
        var collection = resource[..slash];
        var id = resource[(slash + 1)..];
        if (id.Length == 0 || !(collection.EndsWith("/models", StringComparison.Ordinal) || collection.EndsWith("/tunedModels", StringComparison.Ordinal)))
            return (null, method);
        return (id, method);
    }

    private static ParsedRequest ParseGenerate(Operation operation, string path, string model, ReadOnlyMemory<byte> body, JsonDocument document)
    {
        var root = document.RootElement;
        RequestFields.ArrayOfObjects(RequestFields.RequiredArray(root, "contents"), "contents");
        if (RequestFields.TryGet(root, "systemInstruction", out var system) && system.ValueKind is not (JsonValueKind.Object or JsonValueKind.String))
            throw new InvalidRequestException("Invalid type for 'systemInstruction': expected an object.", "systemInstruction");
        RequestFields.OptionalArray(root, "tools");
        int? maxOutput = null;
        int? candidates = null;
        // Google's JSON mapping accepts snake_case field names as well as the documented camelCase ones; when a body
        // carries several spellings, the larger limit is what the upstream may generate.
        foreach (var configName in GeminiRequestRewriter.ConfigNames)
        {
            if (RequestFields.OptionalObject(root, configName) is not { } config) continue;
            foreach (var limitName in GeminiRequestRewriter.LimitNames)
                maxOutput = OpenAi.OpenAiRequestParser.MaxOf(maxOutput, RequestFields.OptionalInt(config, limitName, 1, RequestFields.MaxTokensLimit));
            candidates = OpenAi.OpenAiRequestParser.MaxOf(candidates, RequestFields.OptionalInt(config, "candidateCount", 1, 128));
            candidates = OpenAi.OpenAiRequestParser.MaxOf(candidates, RequestFields.OptionalInt(config, "candidate_count", 1, 128));
        }
        return new ParsedRequest(ProviderFormat.Gemini, operation, path, body, document)
        {
            Model = model,
            Stream = operation == Operation.GeminiStreamGenerateContent,
            MaxOutputTokens = maxOutput,
            N = candidates ?? 1,
        };
    }
}
