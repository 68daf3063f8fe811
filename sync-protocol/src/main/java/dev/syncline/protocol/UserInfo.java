package dev.syncline.protocol;

import java.util.List;

/** Who a connection is signed in as. */
public record UserInfo(String id, List<String> roles) {}
