
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace AiGateway.MockUpstream;

/// <summary>
/// Registers a stub written in (Java) WireMock's JSON mapping format on a WireMock.Net server, through WireMock.Net's
/// fluent builders. The tests and the demo mappings were written in that format; keeping it means a stub reads the
/// same as WireMock's documentation. Supported subset (anything else is refused, so a stub never silently matches
/// more than it says):
/// <list type="bullet">
/// <item>mapping: <c>request</c>, <c>response</c>, <c>priority</c> (default 5, as in WireMock), <c>scenarioName</c>,
/// <c>requiredScenarioState</c>, <c>newScenarioState</c> (<c>Started</c> is the initial state), <c>name</c>.</item>
/// <item>request: <c>method</c> (or ANY), <c>urlPath</c>, <c>urlPathPattern</c>, <c>url</c>, <c>urlPattern</c>,
/// <c>headers</c> and <c>bodyPatterns</c> with <c>equalTo</c>, <c>contains</c>, <c>matches</c>,
/// <c>doesNotMatch</c>, <c>absent</c> (headers), <c>matchesJsonPath</c> and <c>equalToJson</c> (bodies).</item>
/// <item>response: <c>status</c>, <c>body</c>, <c>jsonBody</c>, <c>base64Body</c>, <c>headers</c>,
/// <c>fixedDelayMilliseconds</c>, <c>delayDistribution</c> (<c>uniform</c>), <c>transformers: ["response-template"]</c>
/// (WireMock.Net's Handlebars; <c>{{jsonPath request.body '$.x'}}</c> is rewritten to its <c>JsonPath.SelectToken</c>),
/// and — served by <see cref="MockUpstreamServer"/>'s middleware, because WireMock.Net has no equivalent —
/// <c>chunkedDribbleDelay</c> and <c>fault</c> (<c>CONNECTION_RESET_BY_PEER</c>, <c>EMPTY_RESPONSE</c>,
/// <c>MALFORMED_RESPONSE_CHUNK</c>, <c>RANDOM_DATA_THEN_CLOSE</c>).</item>
/// </list>
/// </summary>
public static partial class JavaStubMapping
{
    /// <summary>Response header carrying a fault from the stub to the middleware (never sent to clients).</summary>
    public const string FaultHeader = "X-MockUpstream-Fault";

    /// <summary>Response header carrying a chunked dribble delay ("chunks;totalMs") to the middleware (never sent).</summary>
    public const string DribbleHeader = "X-MockUpstream-Dribble";

    /// <summary>WireMock's default stub priority: stubs without one lose to stubs with a smaller number.</summary>
    public const int DefaultPriority = 5;

    private const string StartedState = "Started";

    private static readonly HashSet<string> MappingKeys = ["request", "response", "priority", "scenarioName", "requiredScenarioState", "newScenarioState", "name", "id", "uuid"];
    private static readonly HashSet<string> RequestKeys = ["method", "urlPath", "urlPathPattern", "url", "urlPattern", "headers", "bodyPatterns"];
    private static readonly HashSet<string> ResponseKeys =
        ["status", "body", "jsonBody", "base64Body", "headers", "fixedDelayMilliseconds", "delayDistribution", "chunkedDribbleDelay", "fault", "transformers"];
    private static readonly HashSet<string> Faults = ["CONNECTION_RESET_BY_PEER", "EMPTY_RESPONSE", "MALFORMED_RESPONSE_CHUNK", "RANDOM_DATA_THEN_CLOSE"];

    /// <summary>Adds <paramref name="mapping"/> to <paramref name="server"/>; throws <see cref="NotSupportedException"/> for fields outside the subset.</summary>
    public static void Register(WireMockServer server, JsonObject mapping)
    {
        RequireKnown(mapping, MappingKeys, "mapping");
        var request = mapping["request"] as JsonObject ?? throw new NotSupportedException("mapping.request is required");
        var response = mapping["response"] as JsonObject ?? throw new NotSupportedException("mapping.response is required");
        var provider = server.Given(BuildRequest(request)).AtPriority(mapping["priority"]?.GetValue<int>() ?? DefaultPriority);
        if (mapping["name"] is JsonValue name) provider = provider.WithTitle(name.GetValue<string>());

        if (mapping["scenarioName"] is JsonValue scenario)
        {
            // WireMock.Net's initial scenario state is "no state" where WireMock's is "Started"; a stub without a new
            // state keeps the scenario where it is (WireMock.Net would otherwise return it to the initial state).
            provider = provider.InScenario(scenario.GetValue<string>());
            var required = mapping["requiredScenarioState"]?.GetValue<string>();
            if (required is not null && required != StartedState) provider = provider.WhenStateIs(required);
            var next = mapping["newScenarioState"]?.GetValue<string>() ?? required;
            if (next is not null && next != StartedState) provider = provider.WillSetStateTo(next);
        }
        else if (mapping["requiredScenarioState"] is not null || mapping["newScenarioState"] is not null)
        {
            throw new NotSupportedException("scenario states need a scenarioName");
        }

        provider.RespondWith(BuildResponse(response));
    }

    /// <summary>Adds every <c>*.json</c> mapping file of <paramref name="directory"/> (one mapping, or <c>{"mappings":[...]}</c>).</summary>
    public static int RegisterDirectory(WireMockServer server, string directory)
    {
        var count = 0;
        foreach (var file in Directory.EnumerateFiles(directory, "*.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var node = JsonNode.Parse(File.ReadAllText(file)) as JsonObject ?? throw new InvalidDataException($"{file}: not a JSON object");
            var mappings = node["mappings"] is JsonArray list ? list.Select(m => (JsonObject)m!) : [node];
            foreach (var mapping in mappings)
            {
                try
                {
                    Register(server, mapping);
                }
                catch (Exception e) when (e is NotSupportedException or InvalidOperationException or FormatException)
                {
                    throw new InvalidDataException($"{file}: {e.Message}", e);
                }
                count++;
            }
        }
        return count;
    }

    private static IRequestBuilder BuildRequest(JsonObject request)
    {
        RequireKnown(request, RequestKeys, "request");
        var builder = Request.Create();
        var method = request["method"]?.GetValue<string>() ?? "ANY";
        builder = method == "ANY" ? builder.UsingAnyMethod() : builder.UsingMethod(method);

        // Paths are matched on the path as received (WireMock: urlPath/urlPathPattern on the path, url/urlPattern on
        // path + query), exactly or with a whole-string regular expression.
        if (request["urlPath"] is JsonValue urlPath)
        {
            var expected = urlPath.GetValue<string>();
            builder = builder.WithPath(path => path == expected);
        }
        if (request["urlPathPattern"] is JsonValue urlPathPattern)
        {
            var regex = WholeMatch(urlPathPattern.GetValue<string>());
            builder = builder.WithPath(path => path is not null && regex.IsMatch(path));
        }
        if (request["url"] is JsonValue url)
        {
            var expected = url.GetValue<string>();
            builder = builder.WithUrl(absolute => PathAndQuery(absolute) == expected);
        }
        if (request["urlPattern"] is JsonValue urlPattern)
        {
            var regex = WholeMatch(urlPattern.GetValue<string>());
            builder = builder.WithUrl(absolute => regex.IsMatch(PathAndQuery(absolute)));
        }

        if (request["headers"] is JsonObject headers)
        {
            var checks = headers.Select(h => (Name: h.Key, Match: ValuePredicate(h.Value as JsonObject ?? throw new NotSupportedException($"header {h.Key}: expected an object"), "header"))).ToList();
            builder = builder.WithHeader(received => checks.All(c => c.Match(HeaderValue(received, c.Name))));
        }

        if (request["bodyPatterns"] is JsonArray bodyPatterns)
        {
            var checks = bodyPatterns.Select(p => BodyPredicate(p as JsonObject ?? throw new NotSupportedException("bodyPatterns: expected objects"))).ToList();
            builder = builder.WithBody((string? body) => checks.All(c => c(body ?? "")));
        }
        return builder;
    }

    private static IResponseBuilder BuildResponse(JsonObject response)
    {
        RequireKnown(response, ResponseKeys, "response");
        var builder = Response.Create().WithStatusCode(response["status"]?.GetValue<int>() ?? 200);

        var headers = new Dictionary<string, string[]>(StringComparer.OrdinalIgnoreCase);
        if (response["headers"] is JsonObject h)
        {
            foreach (var (name, value) in h)
            {
                headers[name] = value is JsonArray values ? values.Select(v => v!.ToString()).ToArray() : [value!.ToString()];
            }
        }

        if (response["fault"] is JsonValue fault)
        {
            var type = fault.GetValue<string>();
            if (!Faults.Contains(type)) throw new NotSupportedException($"fault {type}");
            headers[FaultHeader] = [type];
        }
        if (response["chunkedDribbleDelay"] is JsonObject dribble)
        {
            var chunks = dribble["numberOfChunks"]?.GetValue<int>() ?? throw new NotSupportedException("chunkedDribbleDelay.numberOfChunks is required");
            var total = dribble["totalDuration"]?.GetValue<int>() ?? throw new NotSupportedException("chunkedDribbleDelay.totalDuration is required");
            if (chunks < 1 || total < 0) throw new NotSupportedException("chunkedDribbleDelay: numberOfChunks ≥ 1 and totalDuration ≥ 0");
            headers[DribbleHeader] = [$"{chunks};{total}"];
        }
        if (headers.Count > 0) builder = builder.WithHeaders(headers);

        var templated = false;
        if (response["transformers"] is JsonArray transformers)
        {
            foreach (var t in transformers)
            {
                if (t?.GetValue<string>() != "response-template") throw new NotSupportedException($"transformer {t}");
                templated = true;
            }
        }

        if (response["body"] is JsonValue body)
        {
            var text = body.GetValue<string>();
            builder = builder.WithBody(templated ? JavaTemplate(text) : text);
        }
        else if (response["jsonBody"] is JsonNode jsonBody)
        {
            var text = jsonBody.ToJsonString();
            builder = builder.WithBody(templated ? JavaTemplate(text) : text);
        }
        else if (response["base64Body"] is JsonValue base64)
        {
            builder = builder.WithBody(Convert.FromBase64String(base64.GetValue<string>()));
        }
        if (templated) builder = builder.WithTransformer();

        if (response["fixedDelayMilliseconds"] is JsonValue delay)
        {
            builder = builder.WithDelay(delay.GetValue<int>());
        }
        if (response["delayDistribution"] is JsonObject distribution)
        {
            if (distribution["type"]?.GetValue<string>() != "uniform") throw new NotSupportedException($"delayDistribution type {distribution["type"]}");
            builder = builder.WithRandomDelay(distribution["lower"]!.GetValue<int>(), distribution["upper"]!.GetValue<int>());
        }
        return builder;
    }

    /// <summary>WireMock's Handlebars helper <c>jsonPath</c> is <c>JsonPath.SelectToken</c> in WireMock.Net.</summary>
    private static string JavaTemplate(string text) => JsonPathHelper().Replace(text, "{{JsonPath.SelectToken ");

    private static Func<string?, bool> ValuePredicate(JsonObject pattern, string what)
    {
        if (pattern.Count != 1) throw new NotSupportedException($"{what} pattern must have exactly one operator: {pattern.ToJsonString()}");
        var (op, node) = pattern.First();
        switch (op)
        {
            case "equalTo":
                var equal = node!.GetValue<string>();
                return v => v == equal;
            case "contains":
                var part = node!.GetValue<string>();
                return v => v is not null && v.Contains(part, StringComparison.Ordinal);
            case "matches":
                var regex = WholeMatch(node!.GetValue<string>());
                return v => v is not null && regex.IsMatch(v);
            case "doesNotMatch":
                var notRegex = WholeMatch(node!.GetValue<string>());
                return v => v is null || !notRegex.IsMatch(v);
            case "absent" when what == "header":
                var absent = node!.GetValue<bool>();
                return v => (v is null) == absent;
            default:
                throw new NotSupportedException($"{what} operator {op}");
        }
    }

    private static Func<string, bool> BodyPredicate(JsonObject pattern)
    {
        if (pattern.Count == 1 && pattern["matchesJsonPath"] is JsonValue path)
        {
            // Evaluated with Newtonsoft's JSONPath (WireMock.Net's dependency) rather than its JsonPathMatcher, which finds
            // nothing for a filter on the root object such as "$[?(@.stream == true)]"; WireMock (Jayway) applies a root
            // filter to the object itself, which is what wrapping it in an array does here.
            var expression = path.GetValue<string>();
            return body =>
            {
                try
                {
                    var token = JToken.Parse(body);
                    var target = token is JObject && expression.StartsWith("$[?", StringComparison.Ordinal) ? new JArray(token) : token;
                    return target.SelectTokens(expression).Any();
                }
                catch (JsonReaderException)
                {
                    return false;
                }
            };
        }
        if (pattern.Count == 1 && pattern["equalToJson"] is JsonNode json)
        {
            var expected = json is JsonValue v && v.TryGetValue<string>(out var s) ? JsonNode.Parse(s) : json;
            return body =>
            {
                try
                {
                    return JsonNode.DeepEquals(JsonNode.Parse(body), expected);
                }
                catch (System.Text.Json.JsonException)
                {
                    return false;
                }
            };
        }
        var predicate = ValuePredicate(pattern, "body");
        return body => predicate(body);
    }

    private static string? HeaderValue(IDictionary<string, string[]> headers, string name)
    {
        foreach (var (key, values) in headers)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase)) return string.Join(",", values);
        }
        return null;
    }

    private static string PathAndQuery(string? absoluteUrl) =>
        absoluteUrl is null ? "" : Uri.TryCreate(absoluteUrl, UriKind.Absolute, out var uri) ? uri.PathAndQuery : absoluteUrl;

    private static Regex WholeMatch(string pattern) => new("^(?:" + pattern + ")$", RegexOptions.CultureInvariant);

    private static void RequireKnown(JsonObject node, HashSet<string> known, string what)
    {
        foreach (var (key, _) in node)
        {
            if (!known.Contains(key)) throw new NotSupportedException($"{what}.{key} is not supported by the in-process WireMock.Net upstream");
        }
    }

    [GeneratedRegex(@"\{\{\s*jsonPath\s+")]
    private static partial Regex JsonPathHelper();
}
