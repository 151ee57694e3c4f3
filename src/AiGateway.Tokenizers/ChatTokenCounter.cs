using System.Text.Json;

namespace AiGateway.Tokenizers;

/// <summary>
/// Counts prompt tokens of OpenAI request bodies the way the API reports <c>usage.prompt_tokens</c>, following the
/// OpenAI Cookbook "How to count tokens with tiktoken" (constants in <see cref="ChatCountingRules"/>).
/// </summary>
/// <remarks>
/// Exact for what the cookbook verified against the API (text messages, names, function tools). Beyond it, these
/// are documented approximations: assistant <c>tool_calls</c> count the function name and arguments text,
/// <c>tool</c> messages count role and content (not <c>tool_call_id</c>), images use <see cref="ImageTokenCounter"/>,
/// audio/file parts count 0, and Responses API items reuse the chat framing.
/// Non-OpenAI models are counted with o200k_base; scale with <see cref="ApproximateCounter"/>.
/// </remarks>
public static class ChatTokenCounter
{
    /// <summary>Counts a chat completions request body (<c>messages</c>, <c>tools</c>, legacy <c>functions</c>); the model defaults to the body's <c>model</c>.</summary>
    public static int CountChatCompletion(JsonElement request, string? model = null)
    {
        var rules = ChatCountingRules.ForModel(model ?? GetString(request, "model"));
        int total = 0;
        if (request.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array)
        {
            foreach (var message in messages.EnumerateArray()) total += CountMessage(message, rules);
        }
        total += rules.ReplyPriming;
        total += ToolTokenCounter.Count(request, rules);
        return total;
    }

    /// <summary>Counts a Responses API request body (<c>instructions</c>, <c>input</c>, <c>tools</c>); the model defaults to the body's <c>model</c>.</summary>
    public static int CountResponses(JsonElement request, string? model = null)
    {
        var rules = ChatCountingRules.ForModel(model ?? GetString(request, "model"));
        var enc = rules.Encoding;
        int total = 0;
        // Instructions are inserted as a leading system/developer message.
        if (GetString(request, "instructions") is { } instructions)
            total += rules.TokensPerMessage + enc.CountTokens("system") + enc.CountTokens(instructions);

        if (request.TryGetProperty("input", out var input))
        {
            if (input.ValueKind == JsonValueKind.String)
            {
                total += rules.TokensPerMessage + enc.CountTokens("user") + enc.CountTokens(input.GetString());
            }
            else if (input.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in input.EnumerateArray()) total += CountResponsesItem(item, rules);
            }
        }
        total += rules.ReplyPriming;
        total += ToolTokenCounter.Count(request, rules);
        return total;
    }

    /// <summary>
    /// Counts an embeddings <c>input</c> or completions <c>prompt</c> value: a string, an array of strings,
    /// a token array (its length) or an array of token arrays (the sum of lengths). No framing is added.
    /// </summary>
    public static int CountPlainInput(JsonElement input, TiktokenEncoding encoding)
    {
        ArgumentNullException.ThrowIfNull(encoding);
        switch (input.ValueKind)
        {
            case JsonValueKind.String:
                return encoding.CountTokens(input.GetString());
            case JsonValueKind.Array:
                int total = 0;
                foreach (var item in input.EnumerateArray())
                {
                    total += item.ValueKind switch
                    {
                        JsonValueKind.String => encoding.CountTokens(item.GetString()),
                        JsonValueKind.Number => 1,
                        JsonValueKind.Array => item.GetArrayLength(),
                        _ => 0,
                    };
                }
                return total;
            default:
                return 0;
        }
    }

    /// <summary>Counts an embeddings or completions request body by its <c>input</c> or <c>prompt</c>, with the encoding of its model (o200k_base if unknown).</summary>
    public static int CountPlainRequest(JsonElement request, string? model = null)
    {
        var encoding = ModelEncodings.ForModel(model ?? GetString(request, "model")) ?? TiktokenEncoding.O200kBase;
        if (request.TryGetProperty("input", out var input)) return CountPlainInput(input, encoding);
        if (request.TryGetProperty("prompt", out var prompt)) return CountPlainInput(prompt, encoding);
        return 0;
    }

    /// <summary>Counts one chat message: framing, role, content, name and tool calls.</summary>
    public static int CountMessage(JsonElement message, ChatCountingRules rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var enc = rules.Encoding;
        int n = rules.TokensPerMessage;
        if (message.ValueKind != JsonValueKind.Object) return n;
        foreach (var p in message.EnumerateObject())
        {
            switch (p.Name)
            {
                case "role":
                case "refusal":
                    n += CountString(p.Value, enc);
                    break;
                case "name":
                    n += CountString(p.Value, enc) + rules.TokensPerName;
                    break;
                case "content":
                    n += CountContent(p.Value, enc);
                    break;
                case "tool_calls" when p.Value.ValueKind == JsonValueKind.Array:
                    foreach (var call in p.Value.EnumerateArray())
                    {
                        if (call.TryGetProperty("function", out var fn)) n += CountFunctionCall(fn, enc);
                    }
                    break;
                case "function_call":
                    n += CountFunctionCall(p.Value, enc);
                    break;
            }
        }
        return n;
    }

    private static int CountResponsesItem(JsonElement item, ChatCountingRules rules)
    {
        if (item.ValueKind != JsonValueKind.Object) return 0;
        var enc = rules.Encoding;
        switch (GetString(item, "type"))
        {
            case "function_call":
                return rules.TokensPerMessage + CountFunctionCall(item, enc);
            case "function_call_output":
                return rules.TokensPerMessage + (item.TryGetProperty("output", out var output) ? CountContent(output, enc) : 0);
            case null or "message":
                return CountMessage(item, rules);
            default:
                return 0; // reasoning items and other server-side state are not re-billed as prompt text here
        }
    }

    private static int CountFunctionCall(JsonElement fn, TiktokenEncoding enc)
    {
        if (fn.ValueKind != JsonValueKind.Object) return 0;
        int n = 0;
        if (fn.TryGetProperty("name", out var name)) n += CountString(name, enc);
        if (fn.TryGetProperty("arguments", out var args))
            n += args.ValueKind == JsonValueKind.String ? enc.CountTokens(args.GetString()) : enc.CountTokens(args.GetRawText());
        return n;
    }

    private static int CountContent(JsonElement content, TiktokenEncoding enc)
    {
        if (content.ValueKind == JsonValueKind.String) return enc.CountTokens(content.GetString());
        if (content.ValueKind != JsonValueKind.Array) return 0;
        int n = 0;
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind == JsonValueKind.String) { n += enc.CountTokens(part.GetString()); continue; }
            if (part.ValueKind != JsonValueKind.Object) continue;
            switch (GetString(part, "type"))
            {
                case "text" or "input_text" or "output_text":
                    n += part.TryGetProperty("text", out var text) ? CountString(text, enc) : 0;
                    break;
                case "refusal":
                    n += part.TryGetProperty("refusal", out var refusal) ? CountString(refusal, enc) : 0;
                    break;
                case "image_url":
                    n += CountImage(part);
                    break;
                case "input_image":
                    n += ImageTokenCounter.CountUrl(GetString(part, "image_url"), GetString(part, "detail"));
                    break;
            }
        }
        return n;
    }

    private static int CountImage(JsonElement part)
    {
        if (!part.TryGetProperty("image_url", out var image)) return ImageTokenCounter.UnknownSizeTokens;
        if (image.ValueKind == JsonValueKind.String) return ImageTokenCounter.CountUrl(image.GetString(), null);
        return ImageTokenCounter.CountUrl(GetString(image, "url"), GetString(image, "detail"));
    }

    internal static int CountString(JsonElement value, TiktokenEncoding enc)
        => value.ValueKind == JsonValueKind.String ? enc.CountTokens(value.GetString()) : 0;

    internal static string? GetString(JsonElement obj, string property)
        => obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(property, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : null;
}
