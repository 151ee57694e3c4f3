using System.Text.Json;
using AiGateway.Metering;
using AiGateway.Pricing;
using AiGateway.Providers;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Model;

namespace AiGateway.Unified;

/// <summary>
/// The unified OpenAI-compatible endpoint (<c>/v1/chat/completions</c>, <c>/v1/embeddings</c>): the model name picks
/// the provider from the price book, and the call is handed to that provider's native route — unchanged for
/// OpenAI-compatible providers, translated to Anthropic Messages or Gemini generateContent otherwise (the answer is
/// translated back by <see cref="ChatTranslation"/>). From there the native pipeline meters it exactly as a native call:
/// same estimate, hold, forwarding, usage reading, settlement, headers and call record (naming the provider's cluster).
/// Runs after authentication and rate limiting, before metering.
/// </summary>
public sealed class UnifiedEndpointMiddleware(RequestDelegate next, PriceBook prices, ProviderRoutes routes,
    IOptions<Hosting.GatewayOptions> gatewayOptions, IOptions<MeteringOptions> metering, TimeProvider time)
{
    private const string ChatPath = "v1/chat/completions";
    private const string EmbeddingsPath = "v1/embeddings";

    public async Task InvokeAsync(HttpContext context)
    {
        if (!ProviderRoutes.IsUnified(context.GetReverseProxyFeature().Route.Config))
        {
            await next(context);
            return;
        }
        var path = context.Request.Path.Value?.Trim('/') ?? "";
        if (!HttpMethods.IsPost(context.Request.Method) || path is not (ChatPath or EmbeddingsPath))
        {
            await Fail(context, new GatewayError(GatewayErrorKind.NotFound, $"Unknown endpoint {context.Request.Method} /{path}.", Code: "unknown_url"));
            return;
        }

        var limit = gatewayOptions.Value.MaxRequestBodyBytes;
        var body = await RequestBodyReader.ReadAsync(context, limit);
        if (body is null)
        {
            await Fail(context, new GatewayError(GatewayErrorKind.PayloadTooLarge, $"The request body exceeds {limit} bytes.", Code: "request_too_large"));
            return;
        }
        var parse = ProviderRequestParser.Parse(ProviderFormat.OpenAi, path, null, body);
        if (parse.Error is { } invalid)
        {
            await Fail(context, invalid);
            return;
        }
        using var request = parse.Request!;
        var model = request.Model!;
        if (!prices.TryResolve(model, out var price))
        {
            await Fail(context, new GatewayError(GatewayErrorKind.NotFound,
                $"The model '{model}' does not exist or is not available through this gateway.", Code: "model_not_found", Param: "model"));
            return;
        }
        if (routes.Find(price.Provider) is not { } target)
        {
            await Fail(context, new GatewayError(GatewayErrorKind.NotFound,
                $"The model '{model}' is priced, but no route to its provider '{price.Provider}' is configured.", Code: "model_not_found", Param: "model"));
            return;
        }

        var upstreamModel = UpstreamModel(model, price);
        if (target.Format == ProviderFormat.OpenAi)
        {
            // OpenAI-compatible providers take the request as it is; only a gateway alias becomes the provider's name.
            var forwarded = upstreamModel == model ? body : WithModel(request.Root, upstreamModel);
            Assign(context, target, path, null, forwarded);
            await next(context);
            return;
        }
        if (path == EmbeddingsPath)
        {
            await Fail(context, new GatewayError(GatewayErrorKind.BadRequest,
                $"Embeddings are only available for OpenAI-compatible models through this endpoint; '{model}' is served by {price.Provider}.",
                Code: "unsupported_model", Param: "model"));
            return;
        }

        if (ProviderDialects.For(target.Format).ChatTranslator is not { } translator)
        {
            await Fail(context, new GatewayError(GatewayErrorKind.BadRequest,
                $"The model '{model}' is served in the {target.Format} format, which this endpoint cannot translate.", Code: "unsupported_model", Param: "model"));
            return;
        }
        TranslatedRequest translated;
        try
        {
            // Metered, a required limit is the one the hold covers (written in by the metering, see MeteringMiddleware).
            translated = translator.TranslateRequest(request.Root, upstreamModel, metering.Value.Enabled ? null : price.MaxOutputTokens);
        }
        catch (InvalidRequestException e)
        {
            await Fail(context, new GatewayError(GatewayErrorKind.BadRequest, e.Message, "unsupported_parameter", e.Param));
            return;
        }
        context.Features.Set(new ChatTranslation(translator,
            new ChatTranslationContext(upstreamModel, translated.IncludeUsage, time.GetUtcNow().ToUnixTimeSeconds())));
        Assign(context, target, translated.Path, translated.Query, translated.Body);
        await next(context);
    }

    /// <summary>
    /// The model name the provider is sent: a gateway alias such as <c>anthropic/claude-sonnet-4.5</c> becomes the price
    /// book's name of the model (the provider's own id); any other name (plain, dated, a seed table's) goes as written,
    /// as on the native routes. Either way it resolves to the same price as the client's name.
    /// </summary>
    internal static string UpstreamModel(string requested, ModelPrice price) =>
        requested.Contains('/') && !price.Name.Contains('/') ? price.Name : requested;

    /// <summary>Moves the call onto the provider's native route, as if the client had called it with this path and body.</summary>
    private static void Assign(HttpContext context, ProviderRoute target, string nativePath, string? query, byte[] body)
    {
        context.Request.Path = target.Prefix + "/" + nativePath;
        context.Request.QueryString = query is null ? QueryString.Empty : new QueryString("?" + query);
        context.Request.RouteValues["rest"] = nativePath;
        RequestBodyReader.Replay(context, body);
        context.ReassignProxyRequest(target.Route, target.Cluster);
    }

    private static byte[] WithModel(JsonElement root, string model)
    {
        var overrides = new PropertyOverrides();
        overrides.Set("model", w => w.WriteStringValue(model));
        return JsonBodyWriter.Rewrite(root, overrides);
    }

    private static Task Fail(HttpContext context, GatewayError error) => ProviderErrorWriter.WriteAsync(context, ProviderFormat.OpenAi, error);
}
