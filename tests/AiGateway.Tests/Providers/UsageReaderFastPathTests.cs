using System.Text;
using System.Text.Json;
using AiGateway.Metering;
using AiGateway.Providers;
using AiGateway.Providers.OpenAi;

namespace AiGateway.Tests.Providers;

/// <summary>
/// OpenAI answers whose report is one top-level <c>usage</c> object are read in one pass, with a document built for
/// that object only. For any body the result must be what the whole-document read gives: generated answers —
/// repeated or escaped <c>usage</c> keys, nested ones, null and unreadable reports, malformed or truncated JSON — are
/// read both ways and compared.
/// </summary>
public class UsageReaderFastPathTests
{
    [Theory]
    [InlineData(Operation.OpenAiChatCompletions)]
    [InlineData(Operation.OpenAiResponses)]
    [InlineData(Operation.OpenAiEmbeddings)]
    public void FromJson_GeneratedAnswers_SameUsageAsTheDocumentRead(Operation operation)
    {
        var random = new Random(13 + (int)operation);
        for (var i = 0; i < 10_000; i++)
        {
            var body = Body(random, operation);
            var bytes = Encoding.UTF8.GetBytes(body);
            var expected = DocumentRead(operation, bytes);
            var actual = UsageReader.FromJson(operation, bytes);
            Assert.True(Equals(expected, actual), $"usage {actual}, document read {expected}; body:\n{body}");
        }
    }

    /// <summary>The read before the fast path: the whole answer as one document, then the dialect's usage read.</summary>
    private static CallUsage? DocumentRead(Operation operation, byte[] body)
    {
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 256 });
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException)
        {
            return null;
        }
        using (document)
        {
            try
            {
                return OpenAiUsage.FromResponse(operation, document.RootElement);
            }
            catch (UnreadableUsageException)
            {
                return null;
            }
        }
    }

    private static string Body(Random r, Operation operation)
    {
        var props = new List<string> { "\"id\":\"x\"", "\"model\":\"gpt-4o-mini\"" };
        props.Add(operation == Operation.OpenAiResponses
            ? "\"output\":[{\"type\":\"message\",\"content\":[{\"type\":\"output_text\",\"text\":\"Hi\"}],\"usage\":" + Usage(r, operation) + "}]"
            : "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello \\u00e9\"},\"usage\":" + Usage(r, operation) + "}]");
        if (r.Next(6) != 0) props.Add("\"usage\":" + Usage(r, operation));
        if (r.Next(8) == 0) props.Add("\"usage\":" + Usage(r, operation));
        if (r.Next(10) == 0) props.Add("\"us\\u0061ge\":" + Usage(r, operation));
        var body = "{" + string.Join(",", props.OrderBy(_ => r.Next())) + "}";
        return r.Next(14) switch
        {
            0 => body[..r.Next(body.Length)],
            1 => body + " trailing",
            2 => "[" + body + "]",
            3 => body.Replace("}", "}}"),
            _ => body,
        };
    }

    private static string Usage(Random r, Operation operation)
    {
        var (input, output, details, sub) = operation == Operation.OpenAiResponses
            ? ("input_tokens", "output_tokens", "output_tokens_details", "reasoning_tokens")
            : ("prompt_tokens", "completion_tokens", "completion_tokens_details", "reasoning_tokens");
        return r.Next(10) switch
        {
            0 => "null",
            1 => "\"12\"",
            2 => $"{{\"{input}\":\"x\",\"{output}\":2}}",
            3 => $"{{\"{input}\":-1}}",
            4 => $"{{\"{input}\":5,\"{input}\":7,\"{output}\":1.0}}",
            _ => $"{{\"{input}\":{r.Next(1000)},\"{output}\":{r.Next(1000)},\"{details}\":{{\"{sub}\":{r.Next(10)}}},\"total_tokens\":1}}",
        };
    }
}
