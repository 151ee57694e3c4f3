using System.Buffers;
using System.Text.Json;
using AiGateway.Metering;
using AiGateway.Providers.Anthropic;
using AiGateway.Providers.OpenAi;

namespace AiGateway.Providers.Gemini;

/// <summary>
/// Translates OpenAI chat completions to Gemini generateContent and back. System and developer messages become
/// <c>systemInstruction</c>; tool calls <c>functionCall</c> parts; tool results <c>functionResponse</c> parts (named after
/// the call they answer); JSON mode <c>responseMimeType</c> / <c>responseSchema</c>. Tool and response schemas are
/// converted to Gemini's OpenAPI subset (<see cref="GeminiSchema"/>). Refused with a 400: <c>parallel_tool_calls: false</c>
/// (Gemini cannot forbid parallel calls), image URLs whose type cannot be told, and what <see cref="OpenAiChatRequest"/> refuses.
/// <c>user</c> is accepted and not sent (an abuse-monitoring id with no Gemini counterpart and no effect on the answer).
/// </summary>
internal sealed class GeminiChatTranslator : IChatTranslator
{
    /// <summary>The single instance (the translator holds no state), the Gemini dialect's <see cref="IProviderDialect.ChatTranslator"/>.</summary>
    public static readonly GeminiChatTranslator Instance = new();

    private GeminiChatTranslator()
    {
    }

    /// <summary>Gemini needs no output limit: without one the model's own maximum applies.</summary>
    TranslatedRequest IChatTranslator.TranslateRequest(JsonElement openAiChatRequest, string model, long? defaultMaxOutputTokens) =>
        TranslateRequest(OpenAiChatRequest.Parse(openAiChatRequest), model);

    /// <inheritdoc />
    byte[]? IChatTranslator.TranslateResponse(ReadOnlySpan<byte> nativeResponse, ChatTranslationContext context) =>
        TranslateResponse(nativeResponse, context.Model, context.Created);

    /// <inheritdoc />
    byte[] IChatTranslator.TranslateError(ReadOnlySpan<byte> nativeError, int status) => TranslateError(nativeError, status);

    /// <inheritdoc />
    IChatStreamTranslator IChatTranslator.CreateStreamTranslator(ChatTranslationContext context) =>
        new GeminiChatStreamTranslator(context.IncludeUsage, context.Model, context.Created);

    /// <summary>The generateContent request for <paramref name="request"/>, sent for <paramref name="upstreamModel"/>.</summary>
    public static TranslatedRequest TranslateRequest(OpenAiChatRequest request, string upstreamModel)
    {
        if (request.ParallelToolCalls == false && request.Tools.Count > 0)
            throw OpenAiChatRequest.Unsupported("parallel_tool_calls", "'parallel_tool_calls: false' is not supported for Gemini models.");
        if (request.Tools.Count == 0 && request.ToolChoice is { Mode: ChatToolChoiceMode.Required or ChatToolChoiceMode.Named })
            throw new InvalidRequestException("'tool_choice' requires 'tools'.", "tool_choice");

        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer, OpenAiChatCompletion.WriterOptions))
        {
            w.WriteStartObject();
            WriteSystem(w, request.Messages);
            WriteContents(w, request.Messages);
            WriteTools(w, request);
            WriteGenerationConfig(w, request);
            w.WriteEndObject();
        }
        var method = request.Stream ? "streamGenerateContent" : "generateContent";
        return new TranslatedRequest($"v1beta/models/{upstreamModel}:{method}", buffer.WrittenSpan.ToArray(), request.Stream,
            request.Stream ? "alt=sse" : null, request.IncludeUsage);
    }

    /// <summary>A complete generateContent response as an OpenAI <c>chat.completion</c>; null when the body is not one.</summary>
    public static byte[]? TranslateResponse(ReadOnlySpan<byte> body, string fallbackModel, long created)
    {
        using var document = AnthropicChatTranslator.TryParse(body);
        if (document?.RootElement is not { ValueKind: JsonValueKind.Object } root) return null;
        if (!root.TryGetProperty("candidates", out _) && !root.TryGetProperty("promptFeedback", out _) && !root.TryGetProperty("usageMetadata", out _))
            return null;
        var responseId = StringOf(root, "responseId");
        var candidate = FirstCandidate(root);
        string? text = null;
        var calls = new List<ChatToolCall>();
        foreach (var part in Parts(candidate))
        {
            if (part.TryGetProperty("thought", out var thought) && thought.ValueKind == JsonValueKind.True) continue;
            if (StringOf(part, "text") is { } t) text = (text ?? "") + t;
            if (FunctionCall(part) is { } call) calls.Add(ToToolCall(call, responseId, calls.Count));
        }
        var finish = candidate.ValueKind == JsonValueKind.Object
            ? FinishReason(StringOf(candidate, "finishReason"), calls.Count > 0)
            : Blocked(root) ? "content_filter" : "stop";
        return new OpenAiChatCompletion(CompletionId(responseId), StringOf(root, "modelVersion") ?? fallbackModel, created, text, calls,
            finish, UsageOf(root)).ToJson();
    }

    /// <summary>A Gemini error body (<c>{"error":{code,message,status}}</c>) in OpenAI's error shape.</summary>
    public static byte[] TranslateError(ReadOnlySpan<byte> body, int status)
    {
        using var document = AnthropicChatTranslator.TryParse(body);
        var root = document?.RootElement ?? default;
        // Errors may also come as a one-element array (the non-SSE stream framing).
        if (root.ValueKind == JsonValueKind.Array && root.GetArrayLength() > 0) root = root[0];
        var error = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var e) ? e : default;
        var code = StringOf(error, "status");
        var type = code switch
        {
            "RESOURCE_EXHAUSTED" => "rate_limit_exceeded",
            "INTERNAL" or "UNAVAILABLE" or "DEADLINE_EXCEEDED" => "server_error",
            _ => status >= 500 ? "server_error" : "invalid_request_error",
        };
        return OpenAiChatCompletion.ErrorJson(StringOf(error, "message") ?? $"The Gemini API answered {status}.", type, code);
    }

    /// <summary>Maps Gemini's <c>finishReason</c>; a normal stop after function calls is OpenAI's <c>tool_calls</c>.</summary>
    public static string FinishReason(string? reason, bool sawToolCall) => reason switch
    {
        "MAX_TOKENS" => "length",
        "SAFETY" or "RECITATION" or "BLOCKLIST" or "PROHIBITED_CONTENT" or "SPII" or "IMAGE_SAFETY" or "LANGUAGE" => "content_filter",
        _ when sawToolCall => "tool_calls",
        _ => "stop",
    };

    /// <summary>Gemini usage in OpenAI's terms, through the mapping metering uses (thinking is output and reasoning).</summary>
    public static ChatUsage? UsageOf(JsonElement chunk)
    {
        if (!UsageFields.TryGetObject(chunk, "usageMetadata", out var usage)) return null;
        try
        {
            return AnthropicChatTranslator.ToChatUsage(GeminiUsage.FromUsageMetadata(usage));
        }
        catch (UnreadableUsageException)
        {
            return null;
        }
    }

    /// <summary>The OpenAI id for a Gemini response.</summary>
    public static string CompletionId(string? responseId) => "chatcmpl-" + (responseId ?? Guid.NewGuid().ToString("N"));

    /// <summary>A function call as an OpenAI tool call; Gemini gives ids only sometimes, so one is made from the response id.</summary>
    public static ChatToolCall ToToolCall(JsonElement call, string? responseId, int index) => new(
        StringOf(call, "id") ?? $"call_{responseId ?? Guid.NewGuid().ToString("N")}_{index}",
        StringOf(call, "name") ?? "",
        OpenAiChatCompletion.ArgumentsText(call.TryGetProperty("args", out var args) ? args : null));

    /// <summary>The first candidate, or default.</summary>
    public static JsonElement FirstCandidate(JsonElement root) =>
        root.TryGetProperty("candidates", out var candidates) && candidates.ValueKind == JsonValueKind.Array && candidates.GetArrayLength() > 0
            ? candidates[0]
            : default;

    /// <summary>The parts of a candidate's content.</summary>
    public static IEnumerable<JsonElement> Parts(JsonElement candidate)
    {
        if (candidate.ValueKind == JsonValueKind.Object && candidate.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Object
            && content.TryGetProperty("parts", out var parts) && parts.ValueKind == JsonValueKind.Array)
            foreach (var part in parts.EnumerateArray())
                if (part.ValueKind == JsonValueKind.Object) yield return part;
    }

    /// <summary>A part's function call, or null.</summary>
    public static JsonElement? FunctionCall(JsonElement part) =>
        (part.TryGetProperty("functionCall", out var call) || part.TryGetProperty("function_call", out call)) && call.ValueKind == JsonValueKind.Object ? call : null;

    /// <summary>Whether the prompt itself was blocked (no candidates, a <c>promptFeedback.blockReason</c>).</summary>
    public static bool Blocked(JsonElement root) =>
        root.TryGetProperty("promptFeedback", out var feedback) && StringOf(feedback, "blockReason") is not null;

    private static void WriteSystem(Utf8JsonWriter w, IReadOnlyList<ChatMessage> messages)
    {
        var system = messages.Where(m => m.Role == ChatRole.System).ToList();
        if (system.Count == 0) return;
        w.WriteStartObject("systemInstruction");
        w.WriteStartArray("parts");
        foreach (var part in system.SelectMany(m => m.Parts))
        {
            if (part.Kind != ChatPartKind.Text) throw new InvalidRequestException("System messages may only hold text for Gemini models.", "messages");
            w.WriteStartObject();
            w.WriteString("text", part.Text);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void WriteContents(Utf8JsonWriter w, IReadOnlyList<ChatMessage> messages)
    {
        // functionResponse needs the function's name, which OpenAI's tool messages only give through the call id.
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        w.WriteStartArray("contents");
        string? openRole = null;
        foreach (var message in messages)
        {
            if (message.Role == ChatRole.System) continue;
            var role = message.Role == ChatRole.Assistant ? "model" : "user";
            if (role != openRole)
            {
                if (openRole is not null)
                {
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteStartObject();
                w.WriteString("role", role);
                w.WriteStartArray("parts");
                openRole = role;
            }
            WriteParts(w, message, names);
        }
        if (openRole is not null)
        {
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteParts(Utf8JsonWriter w, ChatMessage message, Dictionary<string, string> names)
    {
        if (message.Role == ChatRole.Tool)
        {
            if (!names.TryGetValue(message.ToolCallId!, out var name))
                throw new InvalidRequestException($"The tool message for '{message.ToolCallId}' answers no earlier assistant tool call.", "messages");
            if (message.Parts.Any(p => p.Kind != ChatPartKind.Text)) throw new InvalidRequestException("Tool messages may only hold text.", "messages");
            w.WriteStartObject();
            w.WriteStartObject("functionResponse");
            w.WriteString("name", name);
            w.WriteStartObject("response");
            w.WriteString("content", message.Text);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            return;
        }
        foreach (var part in message.Parts)
        {
            w.WriteStartObject();
            if (part.Kind == ChatPartKind.Text)
            {
                w.WriteString("text", part.Text);
            }
            else if (ChatPart.TryParseDataUrl(part.Text, out var mediaType, out var data))
            {
                w.WriteStartObject("inlineData");
                w.WriteString("mimeType", mediaType);
                w.WriteString("data", data);
                w.WriteEndObject();
            }
            else if (ChatPart.IsHttpUrl(part.Text) && ImageMimeType(part.Text) is { } mime)
            {
                w.WriteStartObject("fileData");
                w.WriteString("mimeType", mime);
                w.WriteString("fileUri", part.Text);
                w.WriteEndObject();
            }
            else
            {
                throw new InvalidRequestException(
                    "An image for a Gemini model must be a base64 data URL or an http(s) URL ending in .png, .jpg, .jpeg, .webp, .gif, .heic or .heif.", "messages");
            }
            w.WriteEndObject();
        }
        foreach (var call in message.ToolCalls)
        {
            names[call.Id] = call.Name;
            w.WriteStartObject();
            w.WriteStartObject("functionCall");
            w.WriteString("name", call.Name);
            w.WritePropertyName("args");
            w.WriteRawValue(call.Arguments);
            w.WriteEndObject();
            w.WriteEndObject();
        }
    }

    private static string? ImageMimeType(string url)
    {
        var path = new Uri(url).AbsolutePath;
        return System.IO.Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".png" => "image/png",
            ".jpg" or ".jpeg" => "image/jpeg",
            ".webp" => "image/webp",
            ".gif" => "image/gif",
            ".heic" => "image/heic",
            ".heif" => "image/heif",
            _ => null,
        };
    }

    private static void WriteTools(Utf8JsonWriter w, OpenAiChatRequest request)
    {
        if (request.Tools.Count == 0) return;
        w.WriteStartArray("tools");
        w.WriteStartObject();
        w.WriteStartArray("functionDeclarations");
        var i = 0;
        foreach (var tool in request.Tools)
        {
            w.WriteStartObject();
            w.WriteString("name", tool.Name);
            if (tool.Description is not null) w.WriteString("description", tool.Description);
            // Gemini refuses an OBJECT schema without properties: a function without parameters simply has none.
            if (tool.Parameters is { } schema && GeminiSchema.HasProperties(schema))
            {
                w.WritePropertyName("parameters");
                GeminiSchema.Write(w, schema, $"tools[{i}].function.parameters");
            }
            w.WriteEndObject();
            i++;
        }
        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndArray();

        if (request.ToolChoice is not { } choice) return;
        w.WriteStartObject("toolConfig");
        w.WriteStartObject("functionCallingConfig");
        w.WriteString("mode", choice.Mode switch
        {
            ChatToolChoiceMode.None => "NONE",
            ChatToolChoiceMode.Required or ChatToolChoiceMode.Named => "ANY",
            _ => "AUTO",
        });
        if (choice.Mode == ChatToolChoiceMode.Named)
        {
            w.WriteStartArray("allowedFunctionNames");
            w.WriteStringValue(choice.Name);
            w.WriteEndArray();
        }
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void WriteGenerationConfig(Utf8JsonWriter w, OpenAiChatRequest request)
    {
        var format = request.ResponseFormat?.Kind ?? ChatResponseFormatKind.Text;
        if (request.Stop.Count == 0 && request.Temperature is null && request.TopP is null && request.MaxTokens is null && request.Seed is null
            && request.PresencePenalty is null && request.FrequencyPenalty is null && format == ChatResponseFormatKind.Text)
            return;
        w.WriteStartObject("generationConfig");
        if (request.Stop.Count > 0)
        {
            w.WriteStartArray("stopSequences");
            foreach (var stop in request.Stop) w.WriteStringValue(stop);
            w.WriteEndArray();
        }
        if (request.Temperature is { } temperature) w.WriteNumber("temperature", temperature);
        if (request.TopP is { } topP) w.WriteNumber("topP", topP);
        if (request.MaxTokens is { } max) w.WriteNumber("maxOutputTokens", max);
        if (request.Seed is { } seed)
        {
            if (seed is < int.MinValue or > int.MaxValue) throw new InvalidRequestException("Gemini models take a 32-bit 'seed'.", "seed");
            w.WriteNumber("seed", seed);
        }
        if (request.PresencePenalty is { } presence) w.WriteNumber("presencePenalty", presence);
        if (request.FrequencyPenalty is { } frequency) w.WriteNumber("frequencyPenalty", frequency);
        if (format != ChatResponseFormatKind.Text) w.WriteString("responseMimeType", "application/json");
        if (format == ChatResponseFormatKind.JsonSchema && request.ResponseFormat!.Schema is { } schema)
        {
            w.WritePropertyName("responseSchema");
            GeminiSchema.Write(w, schema, "response_format.json_schema.schema");
        }
        w.WriteEndObject();
    }

    private static string? StringOf(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}

/// <summary>
/// Gemini <c>streamGenerateContent?alt=sse</c> chunks → OpenAI chunks: the first chunk gives the role chunk, text parts
/// content deltas (thought summaries are not shown), each <c>functionCall</c> part a whole tool call (id, name and its
/// arguments in one fragment), <c>finishReason</c> the finish chunk; the stream ends (usage chunk, <c>[DONE]</c>) when the
/// upstream closes after the finish, since every chunk may restate the running usage.
/// </summary>
internal sealed class GeminiChatStreamTranslator(bool includeUsage, string fallbackModel, long created) : ChatStreamTranslator(includeUsage)
{
    private int _toolCalls;
    private ChatUsage? _usage;

    /// <inheritdoc />
    protected override void OnEvent(ReadOnlySpan<byte> eventType, JsonElement data, IBufferWriter<byte> toClient)
    {
        if (data.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
        {
            var body = System.Text.Encoding.UTF8.GetBytes(data.GetRawText());
            using var translated = JsonDocument.Parse(GeminiChatTranslator.TranslateError(body, 500));
            var e = translated.RootElement.GetProperty("error");
            Chunks.Error(toClient, String(e, "message")!, String(e, "type")!, String(e, "code"));
            return;
        }
        var responseId = String(data, "responseId");
        Chunks.Start(toClient, GeminiChatTranslator.CompletionId(responseId), String(data, "modelVersion") ?? fallbackModel, created);
        _usage = GeminiChatTranslator.UsageOf(data) ?? _usage;
        var candidate = GeminiChatTranslator.FirstCandidate(data);
        foreach (var part in GeminiChatTranslator.Parts(candidate))
        {
            if (part.TryGetProperty("thought", out var thought) && thought.ValueKind == JsonValueKind.True) continue;
            if (String(part, "text") is { } text) Chunks.Content(toClient, text);
            if (GeminiChatTranslator.FunctionCall(part) is { } call)
            {
                var toolCall = GeminiChatTranslator.ToToolCall(call, responseId, _toolCalls);
                Chunks.ToolCallStart(toClient, _toolCalls, toolCall.Id, toolCall.Name);
                Chunks.ToolCallArguments(toClient, _toolCalls, toolCall.Arguments);
                _toolCalls++;
            }
        }
        if (String(candidate, "finishReason") is { } reason) Chunks.Finish(toClient, GeminiChatTranslator.FinishReason(reason, _toolCalls > 0));
        else if (candidate.ValueKind != JsonValueKind.Object && GeminiChatTranslator.Blocked(data)) Chunks.Finish(toClient, "content_filter");
    }

    /// <inheritdoc />
    protected override void OnUpstreamEnd(IBufferWriter<byte> toClient)
    {
        // A stream cut before its finish reason is not completed for the client either: no [DONE].
        if (Chunks.Finished) Chunks.End(toClient, _usage);
    }
}
