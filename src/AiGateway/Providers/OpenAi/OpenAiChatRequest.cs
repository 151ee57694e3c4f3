using System.Text.Json;

namespace AiGateway.Providers.OpenAi;

/// <summary>
/// An OpenAI chat completions request read for translation to another provider: every parameter the gateway can carry
/// over is read and type-checked here; any other parameter (and any value that would change behaviour if dropped) is
/// refused with a 400 (<see cref="InvalidRequestException"/>), so a translated call never silently behaves differently.
/// </summary>
internal sealed class OpenAiChatRequest
{
    /// <summary>The top-level parameters a translated request may carry; anything else is refused by name.</summary>
    public static readonly IReadOnlySet<string> AcceptedParameters = new HashSet<string>(StringComparer.Ordinal)
    {
        "model", "messages", "tools", "tool_choice", "parallel_tool_calls", "response_format", "stop", "temperature", "top_p",
        "max_tokens", "max_completion_tokens", "stream", "stream_options", "n", "user", "seed", "presence_penalty",
        "frequency_penalty",
        // Accepted only with their neutral value (off / zero / empty), which is what every provider does anyway.
        "logprobs", "store", "metadata", "logit_bias", "top_logprobs",
    };

    /// <summary>The model name as the client wrote it.</summary>
    public required string Model { get; init; }

    /// <summary>The conversation, system and developer messages included, in order.</summary>
    public required IReadOnlyList<ChatMessage> Messages { get; init; }

    /// <summary>The function tools offered to the model.</summary>
    public IReadOnlyList<ChatTool> Tools { get; init; } = [];

    /// <summary>The tool choice: null (provider default), <c>auto</c>, <c>none</c>, <c>required</c>, or a named function.</summary>
    public ChatToolChoice? ToolChoice { get; init; }

    /// <summary><c>parallel_tool_calls</c>; null when absent.</summary>
    public bool? ParallelToolCalls { get; init; }

    /// <summary>The response format: null or <c>text</c>, <c>json_object</c>, or <c>json_schema</c> with its schema.</summary>
    public ChatResponseFormat? ResponseFormat { get; init; }

    /// <summary>Stop sequences (a single string becomes one entry).</summary>
    public IReadOnlyList<string> Stop { get; init; } = [];

    /// <summary>Sampling temperature (0..2 in OpenAI's range).</summary>
    public double? Temperature { get; init; }

    /// <summary>Nucleus sampling mass (0..1).</summary>
    public double? TopP { get; init; }

    /// <summary>The output-token limit (the larger of <c>max_tokens</c> and <c>max_completion_tokens</c> when both are set).</summary>
    public int? MaxTokens { get; init; }

    /// <summary>Whether the client asked for a stream.</summary>
    public bool Stream { get; init; }

    /// <summary>Whether the stream must end with a usage chunk (<c>stream_options.include_usage</c>).</summary>
    public bool IncludeUsage { get; init; }

    /// <summary>The end-user identifier, if any.</summary>
    public string? User { get; init; }

    /// <summary>The sampling seed, if any.</summary>
    public long? Seed { get; init; }

    /// <summary>Presence penalty (-2..2); null when absent or 0.</summary>
    public double? PresencePenalty { get; init; }

    /// <summary>Frequency penalty (-2..2); null when absent or 0.</summary>
    public double? FrequencyPenalty { get; init; }

    /// <summary>Reads and validates a request body; throws <see cref="InvalidRequestException"/> for anything that cannot be carried over.</summary>
    public static OpenAiChatRequest Parse(JsonElement root)
    {
        RequestFields.RequireObject(root.ValueKind);
        foreach (var property in root.EnumerateObject())
        {
            if (!AcceptedParameters.Contains(property.Name))
                throw Unsupported(property.Name, $"The parameter '{property.Name}' is not supported for this model through the gateway's OpenAI-compatible endpoint.");
        }
        RequireNeutral(root);
        var n = RequestFields.OptionalInt(root, "n", 1, 128);
        if (n > 1) throw Unsupported("n", "Only n=1 is supported for this model: its provider returns one choice per request.");
        var stream = RequestFields.OptionalBool(root, "stream") ?? false;
        var includeUsage = false;
        if (RequestFields.OptionalObject(root, "stream_options") is { } options)
        {
            foreach (var option in options.EnumerateObject())
                if (option.Name != "include_usage") throw Unsupported("stream_options." + option.Name, $"The stream option '{option.Name}' is not supported for this model.");
            includeUsage = RequestFields.OptionalBool(options, "include_usage") ?? false;
        }
        var model = RequestFields.RequiredString(root, "model");
        var messagesElement = RequestFields.RequiredArray(root, "messages");
        RequestFields.ArrayOfObjects(messagesElement, "messages");
        if (messagesElement.GetArrayLength() == 0) throw new InvalidRequestException("'messages' must contain at least one message.", "messages");
        var messages = new List<ChatMessage>();
        var i = 0;
        foreach (var message in messagesElement.EnumerateArray()) messages.Add(ChatMessage.Parse(message, $"messages[{i++}]"));

        return new OpenAiChatRequest
        {
            Model = model,
            Messages = messages,
            Tools = ChatTool.ParseAll(root),
            ToolChoice = ChatToolChoice.Parse(root),
            ParallelToolCalls = RequestFields.OptionalBool(root, "parallel_tool_calls"),
            ResponseFormat = ChatResponseFormat.Parse(root),
            Stop = ParseStop(root),
            Temperature = OptionalNumber(root, "temperature", 0, 2),
            TopP = OptionalNumber(root, "top_p", 0, 1),
            MaxTokens = OpenAiRequestParser.MaxOf(
                RequestFields.OptionalInt(root, "max_completion_tokens", 1, RequestFields.MaxTokensLimit),
                RequestFields.OptionalInt(root, "max_tokens", 1, RequestFields.MaxTokensLimit)),
            Stream = stream,
            IncludeUsage = stream && includeUsage,
            User = RequestFields.OptionalString(root, "user"),
            Seed = RequestFields.TryGet(root, "seed", out var seed)
                ? seed.ValueKind == JsonValueKind.Number && seed.TryGetInt64(out var s) ? s : throw new InvalidRequestException("Invalid value for 'seed': expected an integer.", "seed")
                : null,
            PresencePenalty = NonZero(OptionalNumber(root, "presence_penalty", -2, 2)),
            FrequencyPenalty = NonZero(OptionalNumber(root, "frequency_penalty", -2, 2)),
        };
    }

    /// <summary>A 400 naming the refused parameter.</summary>
    public static InvalidRequestException Unsupported(string param, string message) => new(message, param);

    /// <summary>A number field in [min, max] that may be absent or null.</summary>
    public static double? OptionalNumber(JsonElement obj, string name, double min, double max)
    {
        if (!RequestFields.TryGet(obj, name, out var value)) return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var d) || !double.IsFinite(d))
            throw new InvalidRequestException($"Invalid type for '{name}': expected a number.", name);
        if (d < min || d > max) throw new InvalidRequestException($"Invalid value for '{name}': {value.GetRawText()} is outside {min}..{max}.", name);
        return d;
    }

    private static double? NonZero(double? value) => value is 0 ? null : value;

    /// <summary>Parameters with no counterpart upstream are accepted only when they ask for nothing.</summary>
    private static void RequireNeutral(JsonElement root)
    {
        foreach (var name in (ReadOnlySpan<string>)["logprobs", "store"])
            if (RequestFields.OptionalBool(root, name) == true) throw Unsupported(name, $"'{name}: true' is not supported for this model.");
        if (RequestFields.OptionalInt(root, "top_logprobs", 0, 20) is > 0) throw Unsupported("top_logprobs", "'top_logprobs' is not supported for this model.");
        foreach (var name in (ReadOnlySpan<string>)["metadata", "logit_bias"])
            if (RequestFields.OptionalObject(root, name) is { } obj && obj.EnumerateObject().Any())
                throw Unsupported(name, $"'{name}' is not supported for this model.");
    }

    private static List<string> ParseStop(JsonElement root)
    {
        if (!RequestFields.TryGet(root, "stop", out var stop)) return [];
        if (stop.ValueKind == JsonValueKind.String) return [stop.GetString()!];
        if (stop.ValueKind != JsonValueKind.Array) throw new InvalidRequestException("Invalid type for 'stop': expected a string or an array of strings.", "stop");
        var list = new List<string>();
        foreach (var item in stop.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) throw new InvalidRequestException("Invalid type for 'stop': expected an array of strings.", "stop");
            list.Add(item.GetString()!);
        }
        return list;
    }
}

/// <summary>The role of a chat message.</summary>
internal enum ChatRole
{
    System,
    User,
    Assistant,
    Tool,
}

/// <summary>One message: text and image parts, the assistant's tool calls, or a tool's result.</summary>
/// <param name="Role">System (system and developer), user, assistant or tool.</param>
/// <param name="Parts">The content parts in order (a string content is one text part).</param>
/// <param name="ToolCalls">The assistant's tool calls.</param>
/// <param name="ToolCallId">For a tool message, the call it answers.</param>
internal sealed record ChatMessage(ChatRole Role, IReadOnlyList<ChatPart> Parts, IReadOnlyList<ChatToolCall> ToolCalls, string? ToolCallId)
{
    /// <summary>The text parts joined (tool results, system prompts).</summary>
    public string Text => string.Concat(Parts.Where(p => p.Kind == ChatPartKind.Text).Select(p => p.Text));

    /// <summary>Reads one message at <paramref name="path"/> (for error messages).</summary>
    public static ChatMessage Parse(JsonElement message, string path)
    {
        var roleText = RequestFields.RequiredString(message, "role");
        var role = roleText switch
        {
            "system" or "developer" => ChatRole.System,
            "user" => ChatRole.User,
            "assistant" => ChatRole.Assistant,
            "tool" => ChatRole.Tool,
            _ => throw new InvalidRequestException($"Unsupported role '{roleText}' in {path}: expected system, developer, user, assistant or tool.", path + ".role"),
        };
        foreach (var property in message.EnumerateObject())
        {
            var allowed = property.Name is "role" or "content"
                || (role == ChatRole.Assistant && property.Name is "tool_calls" or "refusal")
                || (role == ChatRole.Tool && property.Name == "tool_call_id");
            if (allowed || property.Value.ValueKind == JsonValueKind.Null) continue;
            throw OpenAiChatRequest.Unsupported($"{path}.{property.Name}", $"The message field '{property.Name}' ({roleText} message) is not supported for this model.");
        }
        var parts = ParseContent(message, path, role);
        var calls = role == ChatRole.Assistant ? ChatToolCall.ParseAll(message, path) : [];
        string? toolCallId = null;
        if (role == ChatRole.Tool) toolCallId = RequestFields.OptionalString(message, "tool_call_id") ?? throw new InvalidRequestException($"Missing 'tool_call_id' in {path}.", path + ".tool_call_id");
        if (role == ChatRole.Assistant && parts.Count == 0 && calls.Count == 0)
            throw new InvalidRequestException($"The assistant message {path} has neither content nor tool calls.", path + ".content");
        return new ChatMessage(role, parts, calls, toolCallId);
    }

    private static List<ChatPart> ParseContent(JsonElement message, string path, ChatRole role)
    {
        if (!RequestFields.TryGet(message, "content", out var content)) return [];
        if (content.ValueKind == JsonValueKind.String)
        {
            var text = content.GetString()!;
            return text.Length == 0 ? [] : [ChatPart.OfText(text)];
        }
        if (content.ValueKind != JsonValueKind.Array)
            throw new InvalidRequestException($"Invalid type for '{path}.content': expected a string or an array of content parts.", path + ".content");
        var parts = new List<ChatPart>();
        var i = 0;
        foreach (var part in content.EnumerateArray())
        {
            var partPath = $"{path}.content[{i++}]";
            if (part.ValueKind != JsonValueKind.Object) throw new InvalidRequestException($"Invalid type for '{partPath}': expected an object.", partPath);
            var type = RequestFields.RequiredString(part, "type");
            switch (type)
            {
                case "text":
                    var text = part.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String
                        ? t.GetString()!
                        : throw new InvalidRequestException($"Missing string 'text' in {partPath}.", partPath + ".text");
                    if (text.Length > 0) parts.Add(ChatPart.OfText(text));
                    break;
                case "image_url" when role == ChatRole.User:
                    var image = RequestFields.OptionalObject(part, "image_url") ?? throw new InvalidRequestException($"Missing 'image_url' in {partPath}.", partPath + ".image_url");
                    // "detail" is a resolution hint with no counterpart upstream; the image itself is carried over.
                    parts.Add(ChatPart.OfImage(RequestFields.RequiredString(image, "url")));
                    break;
                default:
                    throw OpenAiChatRequest.Unsupported(partPath + ".type", $"The content part type '{type}' is not supported in a {role.ToString().ToLowerInvariant()} message for this model.");
            }
        }
        return parts;
    }
}

/// <summary>What a content part holds.</summary>
internal enum ChatPartKind
{
    Text,
    Image,
}

/// <summary>A text part or an image (a <c>data:</c> URL or an http(s) URL).</summary>
internal sealed record ChatPart(ChatPartKind Kind, string Text)
{
    /// <summary>A text part.</summary>
    public static ChatPart OfText(string text) => new(ChatPartKind.Text, text);

    /// <summary>An image part; <see cref="Text"/> holds the URL.</summary>
    public static ChatPart OfImage(string url) => new(ChatPartKind.Image, url);

    /// <summary>Splits a base64 <c>data:</c> URL into its media type and data; false for any other URL.</summary>
    public static bool TryParseDataUrl(string url, out string mediaType, out string data)
    {
        mediaType = data = "";
        if (!url.StartsWith("data:", StringComparison.OrdinalIgnoreCase)) return false;
        var comma = url.IndexOf(',');
        var header = comma < 0 ? "" : url[5..comma];
        if (comma < 0 || !header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
            throw new InvalidRequestException("An image data URL must be base64-encoded (data:<media type>;base64,<data>).");
        mediaType = header[..^7];
        data = url[(comma + 1)..];
        if (mediaType.Length == 0) throw new InvalidRequestException("An image data URL must name its media type.");
        return true;
    }

    /// <summary>Whether <paramref name="url"/> is an absolute http(s) URL.</summary>
    public static bool IsHttpUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp);
}

/// <summary>One tool call of an assistant message; <see cref="Arguments"/> is the JSON object text.</summary>
internal sealed record ChatToolCall(string Id, string Name, string Arguments)
{
    /// <summary>Reads the <c>tool_calls</c> of an assistant message.</summary>
    public static List<ChatToolCall> ParseAll(JsonElement message, string path)
    {
        if (RequestFields.OptionalArray(message, "tool_calls") is not { } array) return [];
        var calls = new List<ChatToolCall>();
        var i = 0;
        foreach (var call in array.EnumerateArray())
        {
            var callPath = $"{path}.tool_calls[{i++}]";
            if (call.ValueKind != JsonValueKind.Object) throw new InvalidRequestException($"Invalid type for '{callPath}': expected an object.", callPath);
            var type = RequestFields.OptionalString(call, "type") ?? "function";
            if (type != "function") throw OpenAiChatRequest.Unsupported(callPath + ".type", $"Tool call type '{type}' is not supported for this model.");
            var function = RequestFields.OptionalObject(call, "function") ?? throw new InvalidRequestException($"Missing 'function' in {callPath}.", callPath + ".function");
            var arguments = RequestFields.OptionalString(function, "arguments") ?? "{}";
            RequireJsonObject(arguments, callPath + ".function.arguments");
            calls.Add(new ChatToolCall(RequestFields.RequiredString(call, "id"), RequestFields.RequiredString(function, "name"), arguments));
        }
        return calls;
    }

    /// <summary>Tool arguments become provider objects (Anthropic <c>input</c>, Gemini <c>args</c>), so they must be a JSON object.</summary>
    private static void RequireJsonObject(string arguments, string param)
    {
        try
        {
            using var document = JsonDocument.Parse(arguments, ProviderRequestParser.DocumentOptions);
            if (document.RootElement.ValueKind == JsonValueKind.Object) return;
        }
        catch (JsonException)
        {
        }
        throw new InvalidRequestException($"'{param}' must be a JSON object encoded as a string.", param);
    }
}

/// <summary>A function tool: name, description and the JSON schema of its parameters (raw JSON, or null for none).</summary>
internal sealed record ChatTool(string Name, string? Description, JsonElement? Parameters)
{
    /// <summary>Reads <c>tools</c>.</summary>
    public static List<ChatTool> ParseAll(JsonElement root)
    {
        if (RequestFields.OptionalArray(root, "tools") is not { } array) return [];
        var tools = new List<ChatTool>();
        var i = 0;
        foreach (var tool in array.EnumerateArray())
        {
            var path = $"tools[{i++}]";
            if (tool.ValueKind != JsonValueKind.Object) throw new InvalidRequestException($"Invalid type for '{path}': expected an object.", path);
            var type = RequestFields.RequiredString(tool, "type");
            if (type != "function") throw OpenAiChatRequest.Unsupported(path + ".type", $"Tool type '{type}' is not supported for this model; only function tools are.");
            var function = RequestFields.OptionalObject(tool, "function") ?? throw new InvalidRequestException($"Missing 'function' in {path}.", path + ".function");
            foreach (var property in function.EnumerateObject())
            {
                if (property.Name is "name" or "description" or "parameters") continue;
                if (property.Name == "strict" && property.Value.ValueKind is JsonValueKind.False or JsonValueKind.Null) continue;
                throw OpenAiChatRequest.Unsupported($"{path}.function.{property.Name}", property.Name == "strict"
                    ? "Strict function schemas ('strict: true') are not supported for this model."
                    : $"The function field '{property.Name}' is not supported for this model.");
            }
            tools.Add(new ChatTool(RequestFields.RequiredString(function, "name"), RequestFields.OptionalString(function, "description"),
                RequestFields.OptionalObject(function, "parameters")));
        }
        return tools;
    }
}

/// <summary>How the model may use tools.</summary>
internal enum ChatToolChoiceMode
{
    Auto,
    None,
    Required,
    Named,
}

/// <summary>The parsed <c>tool_choice</c>; <see cref="Name"/> is set for <see cref="ChatToolChoiceMode.Named"/>.</summary>
internal sealed record ChatToolChoice(ChatToolChoiceMode Mode, string? Name = null)
{
    /// <summary>Reads <c>tool_choice</c>, or null when absent.</summary>
    public static ChatToolChoice? Parse(JsonElement root)
    {
        if (!RequestFields.TryGet(root, "tool_choice", out var choice)) return null;
        if (choice.ValueKind == JsonValueKind.String)
        {
            return choice.GetString() switch
            {
                "auto" => new ChatToolChoice(ChatToolChoiceMode.Auto),
                "none" => new ChatToolChoice(ChatToolChoiceMode.None),
                "required" => new ChatToolChoice(ChatToolChoiceMode.Required),
                var other => throw new InvalidRequestException($"Invalid value for 'tool_choice': '{other}'.", "tool_choice"),
            };
        }
        if (choice.ValueKind == JsonValueKind.Object && RequestFields.OptionalString(choice, "type") == "function"
            && RequestFields.OptionalObject(choice, "function") is { } function)
            return new ChatToolChoice(ChatToolChoiceMode.Named, RequestFields.RequiredString(function, "name"));
        throw OpenAiChatRequest.Unsupported("tool_choice", "Unsupported 'tool_choice': expected auto, none, required or {\"type\":\"function\",\"function\":{\"name\":...}}.");
    }
}

/// <summary>The kinds of <c>response_format</c>.</summary>
internal enum ChatResponseFormatKind
{
    Text,
    JsonObject,
    JsonSchema,
}

/// <summary>The parsed <c>response_format</c>; <see cref="Schema"/> is set for <see cref="ChatResponseFormatKind.JsonSchema"/>.</summary>
internal sealed record ChatResponseFormat(ChatResponseFormatKind Kind, JsonElement? Schema = null)
{
    /// <summary>Reads <c>response_format</c>, or null when absent.</summary>
    public static ChatResponseFormat? Parse(JsonElement root)
    {
        if (RequestFields.OptionalObject(root, "response_format") is not { } format) return null;
        return RequestFields.RequiredString(format, "type") switch
        {
            "text" => new ChatResponseFormat(ChatResponseFormatKind.Text),
            "json_object" => new ChatResponseFormat(ChatResponseFormatKind.JsonObject),
            "json_schema" => new ChatResponseFormat(ChatResponseFormatKind.JsonSchema,
                RequestFields.OptionalObject(RequestFields.OptionalObject(format, "json_schema")
                    ?? throw new InvalidRequestException("Missing 'response_format.json_schema'.", "response_format.json_schema"), "schema")),
            var other => throw OpenAiChatRequest.Unsupported("response_format.type", $"The response format '{other}' is not supported for this model."),
        };
    }
}
