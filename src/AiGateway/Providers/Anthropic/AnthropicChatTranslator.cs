using System.Buffers;
using System.Text.Json;
using AiGateway.Metering;
using AiGateway.Providers.OpenAi;

namespace AiGateway.Providers.Anthropic;

/// <summary>
/// Translates OpenAI chat completions to Anthropic Messages and back. System and developer messages become the
/// top-level <c>system</c>; tool results (role <c>tool</c>) become <c>tool_result</c> blocks of one user turn; tool calls
/// become <c>tool_use</c> blocks. Refused with a 400: <c>response_format</c> json_object/json_schema (Anthropic has no
/// JSON mode), temperature above 1, <c>seed</c>, penalties, and everything <see cref="OpenAiChatRequest"/> refuses.
/// </summary>
internal sealed class AnthropicChatTranslator : IChatTranslator
{
    /// <summary>The single instance (the translator holds no state), the Anthropic dialect's <see cref="IProviderDialect.ChatTranslator"/>.</summary>
    public static readonly AnthropicChatTranslator Instance = new();

    private AnthropicChatTranslator()
    {
    }

    /// <inheritdoc />
    TranslatedRequest IChatTranslator.TranslateRequest(JsonElement openAiChatRequest, string model, long? defaultMaxOutputTokens) =>
        TranslateRequest(OpenAiChatRequest.Parse(openAiChatRequest), model, defaultMaxOutputTokens);

    /// <inheritdoc />
    byte[]? IChatTranslator.TranslateResponse(ReadOnlySpan<byte> nativeResponse, ChatTranslationContext context) =>
        TranslateResponse(nativeResponse, context.Model, context.Created);

    /// <inheritdoc />
    byte[] IChatTranslator.TranslateError(ReadOnlySpan<byte> nativeError, int status) => TranslateError(nativeError, status);

    /// <inheritdoc />
    IChatStreamTranslator IChatTranslator.CreateStreamTranslator(ChatTranslationContext context) =>
        new AnthropicChatStreamTranslator(context.IncludeUsage, context.Model, context.Created);

    /// <summary>The native path of a Messages call.</summary>
    public const string Path = "v1/messages";

    /// <summary>
    /// The Messages request for <paramref name="request"/>, sent for <paramref name="upstreamModel"/>. Anthropic requires
    /// <c>max_tokens</c>: without the client's limit it is <paramref name="defaultMaxTokens"/> (the model's maximum output);
    /// null leaves it out for the metering to write the limit its hold covers.
    /// </summary>
    public static TranslatedRequest TranslateRequest(OpenAiChatRequest request, string upstreamModel, long? defaultMaxTokens)
    {
        if (request.ResponseFormat is { Kind: not ChatResponseFormatKind.Text })
            throw OpenAiChatRequest.Unsupported("response_format", "JSON mode ('response_format' json_object / json_schema) is not supported for Anthropic models.");
        if (request.Temperature > 1)
            throw OpenAiChatRequest.Unsupported("temperature", "Anthropic models accept a temperature between 0 and 1.");
        if (request.Seed is not null) throw OpenAiChatRequest.Unsupported("seed", "'seed' is not supported for Anthropic models.");
        if (request.PresencePenalty is not null) throw OpenAiChatRequest.Unsupported("presence_penalty", "'presence_penalty' is not supported for Anthropic models.");
        if (request.FrequencyPenalty is not null) throw OpenAiChatRequest.Unsupported("frequency_penalty", "'frequency_penalty' is not supported for Anthropic models.");
        if (request.Tools.Count == 0 && request.ToolChoice is { Mode: ChatToolChoiceMode.Required or ChatToolChoiceMode.Named })
            throw new InvalidRequestException("'tool_choice' requires 'tools'.", "tool_choice");

        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer, OpenAiChatCompletion.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("model", upstreamModel);
            if ((request.MaxTokens ?? defaultMaxTokens) is { } maxTokens) w.WriteNumber("max_tokens", Math.Clamp(maxTokens, 1, RequestFields.MaxTokensLimit));
            WriteSystem(w, request.Messages);
            WriteMessages(w, request.Messages);
            if (request.Stop.Count > 0)
            {
                w.WriteStartArray("stop_sequences");
                foreach (var stop in request.Stop) w.WriteStringValue(stop);
                w.WriteEndArray();
            }
            if (request.Temperature is { } temperature) w.WriteNumber("temperature", temperature);
            if (request.TopP is { } topP) w.WriteNumber("top_p", topP);
            if (request.Stream) w.WriteBoolean("stream", true);
            if (request.User is { } user)
            {
                w.WriteStartObject("metadata");
                w.WriteString("user_id", user);
                w.WriteEndObject();
            }
            WriteTools(w, request);
            w.WriteEndObject();
        }
        return new TranslatedRequest(Path, buffer.WrittenSpan.ToArray(), request.Stream, null, request.IncludeUsage);
    }

    /// <summary>A complete Messages response as an OpenAI <c>chat.completion</c>; null when the body is not a Messages response.</summary>
    public static byte[]? TranslateResponse(ReadOnlySpan<byte> body, string fallbackModel, long created)
    {
        using var document = TryParse(body);
        if (document?.RootElement is not { ValueKind: JsonValueKind.Object } root
            || !root.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array)
            return null;
        string? text = null;
        var calls = new List<ChatToolCall>();
        foreach (var block in content.EnumerateArray())
        {
            switch (StringOf(block, "type"))
            {
                case "text":
                    text = (text ?? "") + StringOf(block, "text");
                    break;
                case "tool_use":
                    calls.Add(new ChatToolCall(StringOf(block, "id") ?? "", StringOf(block, "name") ?? "",
                        OpenAiChatCompletion.ArgumentsText(block.TryGetProperty("input", out var input) ? input : null)));
                    break;
                // Thinking blocks are the model's private reasoning: billed (inside output_tokens) but not part of the answer.
            }
        }
        return new OpenAiChatCompletion(StringOf(root, "id") ?? "msg", StringOf(root, "model") ?? fallbackModel, created, text, calls,
            FinishReason(StringOf(root, "stop_reason")), UsageOf(root.TryGetProperty("usage", out var usage) ? usage : default)).ToJson();
    }

    /// <summary>An Anthropic error body (<c>{"type":"error","error":{type,message}}</c>) in OpenAI's error shape.</summary>
    public static byte[] TranslateError(ReadOnlySpan<byte> body, int status)
    {
        using var document = TryParse(body);
        var error = document?.RootElement is { ValueKind: JsonValueKind.Object } root && root.TryGetProperty("error", out var e) ? e : default;
        var type = StringOf(error, "type");
        return OpenAiChatCompletion.ErrorJson(StringOf(error, "message") ?? $"The Anthropic API answered {status}.",
            OpenAiErrorType(type, status), type);
    }

    /// <summary>Maps Anthropic's <c>stop_reason</c> to OpenAI's <c>finish_reason</c>.</summary>
    public static string FinishReason(string? stopReason) => stopReason switch
    {
        "max_tokens" or "model_context_window_exceeded" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        // end_turn, stop_sequence, pause_turn: the model stopped on its own.
        _ => "stop",
    };

    /// <summary>Anthropic usage in OpenAI's terms, through the same mapping metering uses (input includes cache reads and writes).</summary>
    public static ChatUsage? UsageOf(JsonElement usage)
    {
        if (usage.ValueKind != JsonValueKind.Object) return null;
        try
        {
            return ToChatUsage(AnthropicUsage.FromUsage(usage));
        }
        catch (UnreadableUsageException)
        {
            return null;
        }
    }

    /// <summary>A metering usage as OpenAI usage.</summary>
    public static ChatUsage ToChatUsage(CallUsage usage) =>
        new(usage.InputTokens, usage.OutputTokens, usage.CachedInputTokens, usage.ReasoningTokens);

    internal static string OpenAiErrorType(string? providerType, int status) => providerType switch
    {
        "authentication_error" or "permission_error" => "invalid_request_error",
        "rate_limit_error" => "rate_limit_exceeded",
        "overloaded_error" or "api_error" => "server_error",
        _ => status >= 500 ? "server_error" : "invalid_request_error",
    };

    private static void WriteSystem(Utf8JsonWriter w, IReadOnlyList<ChatMessage> messages)
    {
        // Anthropic has one system prompt; OpenAI's system and developer messages all become its blocks, in order.
        var system = messages.Where(m => m.Role == ChatRole.System).ToList();
        if (system.Count == 0) return;
        w.WriteStartArray("system");
        foreach (var message in system)
        {
            foreach (var part in message.Parts)
            {
                if (part.Kind != ChatPartKind.Text) throw new InvalidRequestException("System messages may only hold text for Anthropic models.", "messages");
                w.WriteStartObject();
                w.WriteString("type", "text");
                w.WriteString("text", part.Text);
                w.WriteEndObject();
            }
        }
        w.WriteEndArray();
    }

    private static void WriteMessages(Utf8JsonWriter w, IReadOnlyList<ChatMessage> messages)
    {
        w.WriteStartArray("messages");
        var openRole = (string?)null;
        foreach (var message in messages)
        {
            if (message.Role == ChatRole.System) continue;
            // Tool results and the user text after them form one user turn; consecutive same-role turns are merged.
            var role = message.Role == ChatRole.Assistant ? "assistant" : "user";
            if (role != openRole)
            {
                if (openRole is not null)
                {
                    w.WriteEndArray();
                    w.WriteEndObject();
                }
                w.WriteStartObject();
                w.WriteString("role", role);
                w.WriteStartArray("content");
                openRole = role;
            }
            WriteBlocks(w, message);
        }
        if (openRole is not null)
        {
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    private static void WriteBlocks(Utf8JsonWriter w, ChatMessage message)
    {
        if (message.Role == ChatRole.Tool)
        {
            w.WriteStartObject();
            w.WriteString("type", "tool_result");
            w.WriteString("tool_use_id", message.ToolCallId);
            w.WriteString("content", message.Text);
            w.WriteEndObject();
            if (message.Parts.Any(p => p.Kind != ChatPartKind.Text))
                throw new InvalidRequestException("Tool messages may only hold text.", "messages");
            return;
        }
        foreach (var part in message.Parts)
        {
            w.WriteStartObject();
            if (part.Kind == ChatPartKind.Text)
            {
                w.WriteString("type", "text");
                w.WriteString("text", part.Text);
            }
            else
            {
                w.WriteString("type", "image");
                w.WriteStartObject("source");
                if (ChatPart.TryParseDataUrl(part.Text, out var mediaType, out var data))
                {
                    w.WriteString("type", "base64");
                    w.WriteString("media_type", mediaType);
                    w.WriteString("data", data);
                }
                else if (ChatPart.IsHttpUrl(part.Text))
                {
                    w.WriteString("type", "url");
                    w.WriteString("url", part.Text);
                }
                else
                {
                    throw new InvalidRequestException("An image URL must be an http(s) URL or a base64 data URL.", "messages");
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        foreach (var call in message.ToolCalls)
        {
            w.WriteStartObject();
            w.WriteString("type", "tool_use");
            w.WriteString("id", call.Id);
            w.WriteString("name", call.Name);
            w.WritePropertyName("input");
            w.WriteRawValue(call.Arguments);
            w.WriteEndObject();
        }
    }

    private static void WriteTools(Utf8JsonWriter w, OpenAiChatRequest request)
    {
        if (request.Tools.Count == 0) return;
        w.WriteStartArray("tools");
        foreach (var tool in request.Tools)
        {
            w.WriteStartObject();
            w.WriteString("name", tool.Name);
            if (tool.Description is not null) w.WriteString("description", tool.Description);
            w.WritePropertyName("input_schema");
            if (tool.Parameters is { } schema) schema.WriteTo(w);
            else w.WriteRawValue("""{"type":"object","properties":{}}""");
            w.WriteEndObject();
        }
        w.WriteEndArray();

        var choice = request.ToolChoice;
        var noParallel = request.ParallelToolCalls == false;
        if (choice is null && !noParallel) return;
        w.WriteStartObject("tool_choice");
        switch (choice?.Mode ?? ChatToolChoiceMode.Auto)
        {
            case ChatToolChoiceMode.None:
                w.WriteString("type", "none");
                break;
            case ChatToolChoiceMode.Required:
                w.WriteString("type", "any");
                break;
            case ChatToolChoiceMode.Named:
                w.WriteString("type", "tool");
                w.WriteString("name", choice!.Name);
                break;
            default:
                w.WriteString("type", "auto");
                break;
        }
        if (noParallel && choice?.Mode != ChatToolChoiceMode.None) w.WriteBoolean("disable_parallel_tool_use", true);
        w.WriteEndObject();
    }

    internal static JsonDocument? TryParse(ReadOnlySpan<byte> body)
    {
        try
        {
            return body.IsEmpty ? null : JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = 256 });
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? StringOf(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}

/// <summary>
/// Anthropic Messages events → OpenAI chunks: <c>message_start</c> gives the role chunk (and input usage),
/// <c>content_block_start</c> of a <c>tool_use</c> block opens a tool call (id, name), <c>text_delta</c> and
/// <c>input_json_delta</c> become content and argument fragments, <c>message_delta</c> the finish reason (and output
/// usage), <c>message_stop</c> the usage chunk and <c>[DONE]</c>; <c>error</c> an OpenAI error event. Thinking is not shown.
/// </summary>
internal sealed class AnthropicChatStreamTranslator(bool includeUsage, string fallbackModel, long created) : ChatStreamTranslator(includeUsage)
{
    private readonly Dictionary<long, int> _toolIndexByBlock = [];
    private string? _startUsageJson;
    private string? _deltaUsageJson;

    /// <inheritdoc />
    protected override void OnEvent(ReadOnlySpan<byte> eventType, JsonElement data, IBufferWriter<byte> toClient)
    {
        switch (String(data, "type"))
        {
            case "message_start":
                var message = data.TryGetProperty("message", out var m) ? m : default;
                if (message.ValueKind == JsonValueKind.Object && message.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
                    _startUsageJson = usage.GetRawText();
                Chunks.Start(toClient, String(message, "id") ?? "msg", String(message, "model") ?? fallbackModel, created);
                break;
            case "content_block_start":
                EnsureStarted(toClient);
                if (data.TryGetProperty("content_block", out var block) && String(block, "type") == "tool_use" && BlockIndex(data) is { } toolBlock)
                {
                    var index = _toolIndexByBlock.Count;
                    _toolIndexByBlock[toolBlock] = index;
                    Chunks.ToolCallStart(toClient, index, String(block, "id") ?? "", String(block, "name") ?? "");
                }
                else if (String(block, "type") == "text" && String(block, "text") is { Length: > 0 } initial)
                {
                    Chunks.Content(toClient, initial);
                }
                break;
            case "content_block_delta":
                EnsureStarted(toClient);
                if (!data.TryGetProperty("delta", out var delta)) break;
                switch (String(delta, "type"))
                {
                    case "text_delta":
                        Chunks.Content(toClient, String(delta, "text") ?? "");
                        break;
                    case "input_json_delta" when BlockIndex(data) is { } b && _toolIndexByBlock.TryGetValue(b, out var toolIndex):
                        Chunks.ToolCallArguments(toClient, toolIndex, String(delta, "partial_json") ?? "");
                        break;
                }
                break;
            case "message_delta":
                EnsureStarted(toClient);
                if (data.TryGetProperty("usage", out var deltaUsage) && deltaUsage.ValueKind == JsonValueKind.Object) _deltaUsageJson = deltaUsage.GetRawText();
                if (data.TryGetProperty("delta", out var messageDelta) && String(messageDelta, "stop_reason") is { } stop)
                    Chunks.Finish(toClient, AnthropicChatTranslator.FinishReason(stop));
                break;
            case "message_stop":
                EnsureStarted(toClient);
                Chunks.Finish(toClient, "stop");
                Chunks.End(toClient, Usage());
                break;
            case "error":
                var error = data.TryGetProperty("error", out var e) ? e : default;
                var type = String(error, "type");
                Chunks.Error(toClient, String(error, "message") ?? "The Anthropic stream failed.", AnthropicChatTranslator.OpenAiErrorType(type, 500), type);
                break;
            // ping and content_block_stop carry nothing for the client.
        }
    }

    private void EnsureStarted(IBufferWriter<byte> toClient) => Chunks.Start(toClient, "msg", fallbackModel, created);

    private static long? BlockIndex(JsonElement data) =>
        data.TryGetProperty("index", out var index) && index.ValueKind == JsonValueKind.Number && index.TryGetInt64(out var i) ? i : null;

    /// <summary>message_start has input and cache counts, the last message_delta the cumulative output (and maybe restated input).</summary>
    private ChatUsage? Usage()
    {
        if (_startUsageJson is null && _deltaUsageJson is null) return null;
        try
        {
            using var start = JsonDocument.Parse(_startUsageJson ?? "{}");
            using var delta = JsonDocument.Parse(_deltaUsageJson ?? "{}");
            var d = delta.RootElement;
            var restates = UsageFields.Has(d, "input_tokens") || UsageFields.Has(d, "cache_read_input_tokens") || UsageFields.Has(d, "cache_creation_input_tokens");
            var input = AnthropicUsage.FromUsage(restates ? d : start.RootElement);
            var output = UsageFields.Has(d, "output_tokens") ? UsageFields.Count(d, "output_tokens") : UsageFields.Count(start.RootElement, "output_tokens");
            return AnthropicChatTranslator.ToChatUsage(input with { OutputTokens = output });
        }
        catch (UnreadableUsageException)
        {
            return null;
        }
    }
}
