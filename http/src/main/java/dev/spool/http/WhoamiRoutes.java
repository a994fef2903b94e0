package dev.spool.http;

import java.util.List;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code GET /api/v1/whoami}: the name, roles and queue patterns of the request's token, for any
 * valid token. The console shows only the actions these allow, by the rules of {@link Principal#may}.
 */
final class WhoamiRoutes extends RouteSupport {

  /**
   * Who the token is.
   *
   * @param name the token's name
   * @param roles its roles, lower case ({@code admin}, {@code producer}, {@code consumer}, {@code viewer})
   * @param queues the queue patterns its producer and consumer roles apply to ({@code orders-*})
   */
  record WhoamiView(String name, List<String> roles, List<String> queues) {
    static WhoamiView of(Principal principal) {
      return new WhoamiView(principal.name(), Authenticator.roleNames(principal.roles()), principal.patterns());
    }
  }

  WhoamiRoutes(HttpSettings settings) {
    super(settings);
  }

  Route route(Principal principal) {
    WhoamiView view = WhoamiView.of(principal);
    return path("whoami", () -> get(() -> complete(json(StatusCodes.OK, view))));
  }
}
