using Microsoft.AspNetCore.Http.Features;

namespace AiGateway.Metering;

/// <summary>Step "read": buffers a metered request body up to a limit, and replays it for forwarding.</summary>
public static class RequestBodyReader
{
    /// <summary>The whole body, or null when it is larger than <paramref name="limit"/> bytes.</summary>
    public static async Task<byte[]?> ReadAsync(HttpContext context, long limit)
    {
        var request = context.Request;
        if (request.ContentLength is { } declared && declared > limit) return null;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            // Let the server stop reading at the limit instead of its own default.
            sizeFeature.MaxRequestBodySize = limit + 1;
        }
        using var buffer = new MemoryStream(request.ContentLength is > 0 and var n ? (int)n : 4096);
        var chunk = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
            {
                if (buffer.Length + read > limit) return null;
                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return null;
        }
        // The body is now a buffer of known length: without the client's hop-by-hop framing header, YARP forwards it
        // with a Content-Length instead of re-chunking it.
        request.Headers.Remove("Transfer-Encoding");
        return buffer.ToArray();
    }

    /// <summary>Puts a read body back so YARP forwards it unchanged.</summary>
    public static void Replay(HttpContext context, byte[] body)
    {
        context.Request.Body = new MemoryStream(body, writable: false);
        context.Request.ContentLength = body.Length;
    }
}
